-- Cancels a generation from a headless Neovim with the testgen plugin
-- (server/tests/neovim_e2e.rs starts it on a project whose module has
-- many slow functions), by one of two routes (`cfg.route`):
-- "progress": Neovim draws no cancel button for a work-done progress;
--   :TestgenCancel is the plugin's, and it sends what a button would,
--   `window/workDoneProgress/cancel` with the progress's token.
-- "request": Neovim's own `client:cancel_request(id)` on the pending
--   `workspace/executeCommand` of :TestgenGenerate (`$/cancelRequest`).
-- Writes what it saw to the progress file; the Rust test judges it.
local cfg = _G.testgen_e2e
local route = cfg.route or "progress"
local root = cfg.project
local module = root .. "/slowlib/work.py"

local R = { done = false, notifications = {}, progress = {}, route = route }

local function save()
  vim.fn.writefile({ vim.json.encode(R) }, cfg.progress)
end

vim.notify = function(msg, level)
  table.insert(R.notifications, { t = vim.uv.now(), level = level or vim.log.levels.INFO, message = tostring(msg) })
end

vim.api.nvim_create_autocmd("LspProgress", {
  callback = function(args)
    local p = args.data and args.data.params
    if p and p.value then
      table.insert(R.progress, { t = vim.uv.now(), token = p.token, value = p.value })
    end
  end,
})

local last_done
vim.api.nvim_create_autocmd("User", {
  pattern = "TestgenDone",
  callback = function(args)
    local d = args.data or {}
    if d.command == "generateTests" then
      last_done = { t = vim.uv.now(), result = d.result, error = d.error }
    end
  end,
})

--- Live processes whose command line names the project (the harness
--- started for it, pytest in it), from /proc.
local function project_processes()
  local out = {}
  for _, dir in ipairs(vim.fn.glob("/proc/[0-9]*", false, true)) do
    local stat = io.open(dir .. "/stat", "r")
    local s = stat and stat:read("*a") or ""
    if stat then
      stat:close()
    end
    local f = io.open(dir .. "/cmdline", "r")
    local cmd = f and f:read("*a") or ""
    if f then
      f:close()
    end
    local zombie = s:match("%) Z ") ~= nil
    if not zombie and cmd:find(root, 1, true) then
      table.insert(out, (cmd:gsub("%z", " ")))
    end
  end
  return out
end

local function harness_running()
  for _, cmd in ipairs(project_processes()) do
    if cmd:find("--seed", 1, true) then
      return true
    end
  end
  return false
end

local function in_flight()
  local titles = {}
  for _, work in pairs(require("testgen.commands").in_flight) do
    for _, title in pairs(work) do
      table.insert(titles, title)
    end
  end
  return titles
end

local function run()
  local T = cfg.timeout_ms
  vim.cmd.edit(module)
  R.attached = vim.wait(T, function()
    return #vim.lsp.get_clients({ name = "testgen", bufnr = 0 }) > 0
  end, 50)
  -- The first index ends before a command about files runs.
  vim.wait(T, function()
    for _, p in ipairs(R.progress) do
      if p.value.kind == "end" then
        return true
      end
    end
    return false
  end, 50)
  vim.cmd("TestgenGenerate")
  R.cancellable = vim.wait(T, function()
    for _, t in ipairs(in_flight()) do
      if t:find("generating tests", 1, true) then
        return true
      end
    end
    return false
  end, 50)
  R.harness = vim.wait(T, harness_running, 50)
  vim.wait(1500)
  R.running_before = #project_processes()
  local t0 = vim.uv.now()
  if route == "request" then
    -- The generation's request, pending in Neovim's client.
    local client = vim.lsp.get_clients({ name = "testgen" })[1]
    for id, r in pairs(client and client.requests or {}) do
      if r.type == "pending" and r.method == "workspace/executeCommand" then
        R.request_id = id
      end
    end
    if R.request_id then
      client:cancel_request(R.request_id)
    end
  else
    vim.cmd("TestgenCancel")
  end
  -- Neovim drops a RequestCancelled answer without calling the handler:
  -- on the request route nothing is awaited here.
  R.answered = route == "progress" and vim.wait(T, function()
    return last_done ~= nil
  end, 20)
  R.answer = last_done
  R.answer_ms = last_done and last_done.t - t0
  vim.wait(5000, function()
    return #project_processes() == 0
  end, 20)
  R.stopped_ms = vim.uv.now() - t0
  R.left = project_processes()
  -- Late edits or files would show now.
  vim.wait(3000)
  R.buffers = {}
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    table.insert(R.buffers, { name = vim.api.nvim_buf_get_name(b), modified = vim.bo[b].modified })
  end
  R.in_flight_after = in_flight()
end

vim.api.nvim_create_autocmd("VimEnter", {
  once = true,
  callback = function()
    vim.schedule(function()
      local ok, err = pcall(run)
      if not ok then
        R.fatal = tostring(err)
      end
      R.done = true
      save()
      vim.cmd("qall!")
    end)
  end,
})
