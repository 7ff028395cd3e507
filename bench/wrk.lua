-- Posts signed callback batches with unique ids to /voximplant/callback.
-- args[1]: a file of "id hash source" lines; args[2]: the JSON body with @ID@, @HASH@, @SOURCE@.
local lines = {}
local template = ""
local index = 0
wrapped = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    lines[#lines + 1] = line
  end
  local file = io.open(args[2], "r")
  template = file:read("*a")
  file:close()
end

function request()
  index = index + 1
  if index > #lines then
    index = 1
    wrapped = wrapped + 1
  end
  local id, hash, source = lines[index]:match("^(%d+) (%x+) (%d+)$")
  local body = (template:gsub("@(%u+)@", { ID = id, HASH = hash, SOURCE = source }))
  return wrk.format("POST", "/voximplant/callback", { ["Content-Type"] = "application/json" }, body)
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("wrapped")
  end
  io.write(string.format("ids-wrapped: %d\n", total))
end
