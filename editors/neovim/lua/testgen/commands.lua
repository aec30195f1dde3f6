--- The :Testgen* commands: each sends one `workspace/executeCommand` to the
--- testgen server attached to the current buffer, shows the outcome, and
--- fires `User TestgenDone` with { command, result, error } for scripts.
local handlers = require("testgen.handlers")
local python = require("testgen.python")

local M = {}

local function notify(msg, level)
  vim.notify("testgen: " .. msg, level or vim.log.levels.INFO)
end

--- The testgen client of a buffer, or nil (with a message).
function M.client(bufnr)
  local clients = vim.lsp.get_clients({ name = "testgen", bufnr = bufnr })
  if #clients == 0 then
    notify("no testgen server is attached to this buffer (is it a Python file? see :help testgen)", vim.log.levels.WARN)
    return nil
  end
  return clients[1]
end

local function request(client, method, params, handler, bufnr)
  if vim.fn.has("nvim-0.11") == 1 then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

local function send_notification(client, method, params)
  if vim.fn.has("nvim-0.11") == 1 then
    return client:notify(method, params)
  end
  return client.notify(method, params)
end

local function done(command, result, err)
  vim.api.nvim_exec_autocmds("User", {
    pattern = "TestgenDone",
    modeline = false,
    data = { command = command, result = result, error = err },
  })
end

--- Runs `testgen.<name>` with one argument object; `on_result(result)` on
--- success. Errors are shown once: the server shows most itself.
function M.execute(bufnr, name, argument, on_result)
  local client = M.client(bufnr)
  if not client then
    done(name, nil, { message = "no testgen server attached" })
    return
  end
  local params = { command = "testgen." .. name, arguments = { argument or vim.empty_dict() } }
  request(client, "workspace/executeCommand", params, function(err, result)
    if type(result) == "table" and result.cancelled == true then
      -- :TestgenCancel stopped it: not a failure, and nothing was written.
      notify((tostring(result.message or "cancelled"):gsub("^testgen: ", "")))
    elseif err then
      local message = err.message or vim.inspect(err)
      -- The server shows most of its errors itself, and its message may
      -- arrive just after this answer: wait a moment before showing it.
      vim.defer_fn(function()
        if not handlers.was_shown(message) then
          notify((message:gsub("^testgen: ", "")), vim.log.levels.ERROR)
        end
      end, 300)
    elseif on_result then
      on_result(result)
    end
    done(name, result, err)
  end, bufnr)
end

--- testgen's cancellable work in flight (generation, fix, test run), by
--- client id: progress token -> title, from the server's `$/progress`
--- begin (cancellable) until its end. Neovim draws no cancel button for a
--- progress; :TestgenCancel is that button.
M.in_flight = {}

--- LspProgress (Neovim >= 0.10): follows testgen's cancellable progress.
function M.track_progress(args)
  local data = args.data or {}
  local p = data.params
  local client = data.client_id and vim.lsp.get_client_by_id(data.client_id)
  if not (p and type(p.value) == "table" and client and client.name == "testgen") then
    return
  end
  local work = M.in_flight[data.client_id] or {}
  M.in_flight[data.client_id] = work
  if p.value.kind == "begin" and p.value.cancellable then
    work[p.token] = p.value.title or "testgen"
  elseif p.value.kind == "end" then
    work[p.token] = nil
  end
end

--- :TestgenCancel: stops testgen's work in flight as a progress's cancel
--- button does (`window/workDoneProgress/cancel`): its processes are
--- killed and nothing it would have written is written.
function M.cancel()
  local titles = {}
  for client_id, work in pairs(M.in_flight) do
    local client = vim.lsp.get_client_by_id(client_id)
    for token, title in pairs(work) do
      if client then
        send_notification(client, "window/workDoneProgress/cancel", { token = token })
        table.insert(titles, (title:gsub("^testgen: ", "")))
      end
    end
  end
  if #titles == 0 then
    notify("nothing to cancel")
  else
    notify("cancelling " .. table.concat(titles, ", "))
  end
  done("cancel", { cancelled = titles }, nil)
end

local function uri(bufnr)
  return vim.uri_from_bufnr(bufnr)
end

--- :TestgenGenerate        the file's untested functions
--- :TestgenGenerate!       the function under the cursor
--- :TestgenGenerate {name} that function ("Class.method")
function M.generate(opts)
  local bufnr = vim.api.nvim_get_current_buf()
  local argument = { uri = uri(bufnr) }
  if opts.args ~= "" then
    argument.qualname = opts.args
  elseif opts.bang then
    local q = python.function_at(bufnr, vim.api.nvim_win_get_cursor(0)[1])
    if not q then
      notify("the cursor is not inside a function", vim.log.levels.WARN)
      done("generateTests", nil, { message = "no function under the cursor" })
      return
    end
    argument.qualname = q
  end
  -- The server reports the files it wrote with window/showMessage.
  M.execute(bufnr, "generateTests", argument)
end

--- The testgen diagnostic `code` on line `lnum` (0-based) of a buffer.
local function diagnostic_at(bufnr, lnum, code)
  for _, d in ipairs(vim.diagnostic.get(bufnr, { lnum = lnum })) do
    local lsp = d.user_data and d.user_data.lsp
    if d.source == "testgen" and d.code == code and lsp and lsp.data then
      return lsp.data.key
    end
  end
end

--- The node id of the test under the cursor: the failing-test diagnostic
--- or the "Run test" lens on its line, else built from the path.
local function test_at_cursor(bufnr, want_failing)
  local line = vim.api.nvim_win_get_cursor(0)[1]
  local def = python.innermost_def(bufnr, line)
  local lines = { line - 1 }
  if def then
    table.insert(lines, def.lnum - 1)
  end
  for _, l in ipairs(lines) do
    local key = diagnostic_at(bufnr, l, "failing-test")
    if key then
      return key
    end
  end
  if want_failing or not def then
    return nil
  end
  for _, lens in ipairs(vim.lsp.codelens.get(bufnr)) do
    if lens.range.start.line == def.lnum - 1 and lens.data and lens.data.kind == "runTest" then
      return lens.data.nodeid
    end
  end
  local client = M.client(bufnr)
  local root = client and client.root_dir
  local path = vim.api.nvim_buf_get_name(bufnr)
  if root and vim.startswith(path, root .. "/") then
    local scopes = python.scopes(bufnr, def.lnum)
    local names = {}
    for _, s in ipairs(scopes) do
      table.insert(names, s.name)
    end
    return path:sub(#root + 2) .. "::" .. table.concat(names, "::")
  end
end

--- :TestgenFix: repairs the failing test under the cursor.
function M.fix()
  local bufnr = vim.api.nvim_get_current_buf()
  local nodeid = test_at_cursor(bufnr, true)
  if not nodeid then
    notify("no failing test under the cursor", vim.log.levels.WARN)
    done("fixTest", nil, { message = "no failing test under the cursor" })
    return
  end
  M.execute(bufnr, "fixTest", { uri = uri(bufnr), nodeid = nodeid })
end

local function run_summary(r)
  local c = r.counts or {}
  local s = string.format(
    "%s: %d passed, %d failed, %d errors",
    r.outcome or "?",
    c.passed or 0,
    c.failed or 0,
    c.error or 0
  )
  if type(r.coverage) == "table" and r.coverage.percent then
    s = s .. string.format(", coverage %.1f%%", r.coverage.percent)
  end
  return s
end

--- :TestgenRun            the whole suite
--- :TestgenRun!           the test under the cursor
--- :TestgenRun {nodeid}.. those tests
function M.run(opts)
  local bufnr = vim.api.nvim_get_current_buf()
  local argument = { uri = uri(bufnr) }
  if #opts.fargs > 0 then
    argument.nodeids = opts.fargs
  elseif opts.bang then
    local nodeid = test_at_cursor(bufnr, false)
    if not nodeid then
      notify("no test under the cursor", vim.log.levels.WARN)
      done("runTests", nil, { message = "no test under the cursor" })
      return
    end
    argument.nodeids = { nodeid }
  end
  M.execute(bufnr, "runTests", argument, function(result)
    if result ~= vim.NIL and result then
      notify(run_summary(result))
    end
  end)
end

--- Shows `text` in a floating window (closed with q or on leaving it).
function M.float(text)
  local lines = vim.split(text, "\n", { plain = true })
  local width = 20
  for _, l in ipairs(lines) do
    width = math.max(width, vim.fn.strdisplaywidth(l))
  end
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].bufhidden = "wipe"
  local win = vim.api.nvim_open_win(buf, true, {
    relative = "editor",
    width = math.min(width, math.max(20, vim.o.columns - 4)),
    height = math.min(#lines, math.max(1, vim.o.lines - 4)),
    row = 1,
    col = 2,
    border = "rounded",
    title = " testgen ",
    style = "minimal",
  })
  vim.keymap.set("n", "q", "<cmd>close<cr>", { buffer = buf, nowait = true })
  return win, buf
end

--- :TestgenReport: the coverage report (`testgen.showReport`).
function M.report()
  local bufnr = vim.api.nvim_get_current_buf()
  M.execute(bufnr, "showReport", { uri = uri(bufnr) }, function(result)
    if type(result) == "table" and type(result.text) == "string" then
      M.float(result.text .. (type(result.html) == "string" and ("\n\nHTML: " .. result.html) or ""))
    else
      notify("the server sent no report text", vim.log.levels.WARN)
    end
  end)
end

local function complete_functions(lead)
  return vim.tbl_filter(function(q)
    return vim.startswith(q, lead)
  end, python.all_functions(vim.api.nvim_get_current_buf()))
end

function M.define()
  local cmd = vim.api.nvim_create_user_command
  cmd("TestgenGenerate", M.generate, {
    bang = true,
    nargs = "?",
    complete = complete_functions,
    desc = "testgen: generate tests for this file (! or {name}: one function)",
  })
  cmd("TestgenFix", M.fix, { desc = "testgen: fix the failing test under the cursor" })
  cmd("TestgenRun", M.run, {
    bang = true,
    nargs = "*",
    desc = "testgen: run the tests (! the one under the cursor, or the given node ids)",
  })
  cmd("TestgenReport", M.report, { desc = "testgen: show the coverage report" })
  cmd("TestgenCancel", M.cancel, { desc = "testgen: cancel the generation, fix or test run in flight" })
  if vim.fn.has("nvim-0.10") == 1 then
    vim.api.nvim_create_autocmd("LspProgress", {
      group = vim.api.nvim_create_augroup("testgen_progress", { clear = true }),
      desc = "testgen: follow cancellable work for :TestgenCancel",
      callback = M.track_progress,
    })
  end
end

return M
