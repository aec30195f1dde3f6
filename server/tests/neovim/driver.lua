-- Drives a headless Neovim with the testgen plugin through a user's session
-- on a copy of plainlib (server/tests/neovim_e2e.rs starts it). Each step
-- waits for what a person would see (diagnostics, lenses, files on disk,
-- messages) and is written to the progress file as soon as it ends, with
-- evidence, so a step that times out still leaves a full record. A failed
-- step does not stop the later ones unless they cannot run without it.
local cfg = _G.testgen_e2e
local root = cfg.project
local module = root .. "/plainlib/pricing.py"
local test_file = root .. "/tests/test_pricing.py"
local generated = root .. "/tests/generated/test_plainlib_pricing.py"

local P = { steps = {}, notifications = {}, runs = {}, done = false }

local function save()
  vim.fn.writefile({ vim.json.encode(P) }, cfg.progress)
end

local function now()
  return vim.uv.now()
end

vim.notify = function(msg, level)
  table.insert(P.notifications, { t = now(), level = level or vim.log.levels.INFO, message = tostring(msg) })
end

-- Test runs, from the server's work-done progress.
local titles = {}
vim.api.nvim_create_autocmd("LspProgress", {
  callback = function(args)
    local p = args.data and args.data.params
    if not (p and p.value) then
      return
    end
    local token = tostring(p.token)
    if p.value.kind == "begin" then
      titles[token] = p.value.title
    elseif p.value.kind == "end" then
      local title = titles[token] or ""
      if title:find("running tests", 1, true) then
        table.insert(P.runs, { t = now(), title = title, message = p.value.message })
      end
    end
  end,
})

local last_done = {}
vim.api.nvim_create_autocmd("User", {
  pattern = "TestgenDone",
  callback = function(args)
    local d = args.data or {}
    last_done[d.command] = { t = now(), result = d.result, error = d.error }
  end,
})

local function wait(ms, cond)
  return vim.wait(ms, cond, 50)
end

--- Runs an ex command and waits for its TestgenDone.
local function command(ex, name, ms)
  last_done[name] = nil
  vim.cmd(ex)
  wait(ms, function()
    return last_done[name] ~= nil
  end)
  return last_done[name]
end

local function bufnr_of(path)
  local b = vim.fn.bufnr(path)
  return b ~= -1 and b or nil
end

local function diags(bufnr)
  local out = {}
  for _, d in ipairs(bufnr and vim.diagnostic.get(bufnr) or {}) do
    local lsp = d.user_data and d.user_data.lsp or {}
    table.insert(out, {
      line = d.lnum,
      code = d.code,
      source = d.source,
      severity = d.severity,
      message = d.message,
      key = lsp.data and lsp.data.key,
    })
  end
  return out
end

local function find(bufnr, code, key_part)
  for _, d in ipairs(diags(bufnr)) do
    if d.code == code and d.key and d.key:find(key_part, 1, true) then
      return d
    end
  end
end

local function all_diags()
  local out = {}
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    local name = vim.api.nvim_buf_get_name(b)
    local ds = diags(b)
    if #ds > 0 then
      out[name] = ds
    end
  end
  return out
end

local function read(path)
  local f = io.open(path, "r")
  if not f then
    return nil
  end
  local t = f:read("*a")
  f:close()
  return t
end

--- Waits for a test run that ends after `since` (the server's progress).
local function run_after(since, ms)
  local found
  wait(ms, function()
    for _, r in ipairs(P.runs) do
      if r.t >= since then
        found = r
        return true
      end
    end
    return false
  end)
  return found
end

--- What Neovim showed since notification `n`, after letting late
--- messages arrive (a server message may follow its command's answer).
local function shown_since(n)
  vim.wait(1000)
  local out = {}
  for i = n + 1, #P.notifications do
    table.insert(out, P.notifications[i])
  end
  return out
end

--- The error is shown exactly once, in the server's words.
local function shown_once(shown, message)
  local hits = 0
  for _, m in ipairs(shown) do
    if m.message:find(message, 1, true) then
      hits = hits + 1
    end
  end
  return message ~= "" and hits == 1 and #shown == 1
end

local function step(name, fn)
  local t0 = now()
  local ok, passed, detail = pcall(fn)
  local rec = { name = name, ms = now() - t0 }
  if not ok then
    rec.ok, rec.detail = false, { lua_error = tostring(passed) }
  else
    rec.ok, rec.detail = passed == true, detail
  end
  if not rec.ok then
    rec.diagnostics = all_diags()
  end
  table.insert(P.steps, rec)
  save()
  return rec.ok
end

-- Replaces the first line containing `needle` in a buffer; returns the old line.
local function replace_line(bufnr, needle, fn)
  local lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  for i, l in ipairs(lines) do
    if l:find(needle, 1, true) then
      vim.api.nvim_buf_set_lines(bufnr, i - 1, i, false, fn(l))
      return l, i
    end
  end
  error("no line contains " .. needle)
end

--- Makes the window showing `bufnr` current (or shows it in this one).
local function focus(bufnr)
  local w = vim.fn.bufwinid(bufnr)
  if w ~= -1 then
    vim.api.nvim_set_current_win(w)
  else
    vim.api.nvim_set_current_buf(bufnr)
  end
end

local T = cfg.timeout_ms
local mod_buf, test_buf

--- :help testgen works once the tags are generated (as :helptags does
--- for a manual install) in a copy of the plugin's doc/.
local function help_step()
  step("help", function()
    vim.cmd("helptags " .. vim.fn.fnameescape(cfg.helprt .. "/doc"))
    vim.opt.runtimepath:prepend(cfg.helprt)
    local found = {}
    for _, tag in ipairs({ "testgen", ":TestgenGenerate", "testgen-lsp-enable", "TestgenDone" }) do
      local ok = pcall(vim.cmd, "help " .. tag)
      local line = ok and vim.api.nvim_get_current_line() or ""
      found[tag] = ok and vim.bo.filetype == "help" and line:find("*" .. tag .. "*", 1, true) ~= nil
      pcall(vim.cmd, "helpclose")
    end
    local all = true
    for _, v in pairs(found) do
      all = all and v
    end
    return all, found
  end)
end

--- The function under the cursor, as :TestgenGenerate! names it.
local function qualname_step()
  step("function-under-cursor", function()
    local py = require("testgen.python")
    local got = {}
    local function at(path, needle)
      vim.cmd("edit " .. vim.fn.fnameescape(root .. "/" .. path))
      local b = vim.api.nvim_get_current_buf()
      for i, l in ipairs(vim.api.nvim_buf_get_lines(b, 0, -1, false)) do
        if l:find(needle, 1, true) then
          got[needle] = py.function_at(b, i) or vim.NIL
          return
        end
      end
      got[needle] = "line not found"
    end
    -- A body line after a signature that spans lines, a method, a line of
    -- a nested function (its outer function is the target).
    at("plainlib/pricing.py", "if quantity <= 0:")
    at("plainlib/pricing.py", "logged.calls.append")
    at("plainlib/inventory.py", "def from_row")
    local ok = got["if quantity <= 0:"] == "bulk_price"
      and got["logged.calls.append"] == "logged"
      and got["def from_row"] == "Item.from_row"
    return ok, got
  end)
end

local function run_short()
  vim.cmd("edit " .. vim.fn.fnameescape(module))
  mod_buf = vim.api.nvim_get_current_buf()
  step("attach", function()
    local ok = wait(T, function()
      return #vim.lsp.get_clients({ bufnr = mod_buf, name = "testgen" }) > 0
    end)
    return ok, { clients = #vim.lsp.get_clients({ name = "testgen" }) }
  end)
  step("run-suite", function()
    local d = command("TestgenRun", "runTests", T)
    local r = d and d.result
    return type(r) == "table" and r.counts and r.counts.passed > 0 or false, { done = d }
  end)
  step("uncovered-diagnostics", function()
    local ok = wait(T, function()
      return find(mod_buf, "uncovered-function", "bulk_price") ~= nil
    end)
    return ok, { diagnostics = diags(mod_buf) }
  end)
  step("code-lenses", function()
    local ok = wait(T, function()
      for _, l in ipairs(vim.lsp.codelens.get(mod_buf)) do
        if l.command and l.command.title == "not covered · Generate tests" then
          return true
        end
      end
      return false
    end)
    return ok, { lenses = #vim.lsp.codelens.get(mod_buf) }
  end)
end

local function run()
  if cfg.short then
    return run_short()
  end
  help_step()
  qualname_step()
  vim.cmd("edit " .. vim.fn.fnameescape(module))
  mod_buf = vim.api.nvim_get_current_buf()

  local attached = step("attach", function()
    local ok = wait(T, function()
      return #vim.lsp.get_clients({ bufnr = mod_buf, name = "testgen" }) > 0
    end)
    return ok, { clients = #vim.lsp.get_clients({ name = "testgen" }) }
  end)
  if not attached then
    return
  end

  step("run-suite", function()
    local d = command("TestgenRun", "runTests", T)
    local r = d and d.result
    local ok = type(r) == "table" and r.counts and r.counts.passed > 0 and r.counts.failed == 0
    return ok, { done = d }
  end)

  step("uncovered-diagnostics", function()
    local ok = wait(T, function()
      return find(mod_buf, "uncovered-function", "bulk_price") ~= nil
    end)
    return ok, { diagnostics = diags(mod_buf) }
  end)

  step("code-lenses", function()
    local titles_seen
    local ok = wait(T, function()
      titles_seen = {}
      local generate, covered = false, false
      for _, l in ipairs(vim.lsp.codelens.get(mod_buf)) do
        local title = l.command and l.command.title
        if title then
          table.insert(titles_seen, { line = l.range.start.line, title = title })
          generate = generate or title == "not covered · Generate tests"
          covered = covered or title:find("%% covered") ~= nil
        end
      end
      return generate and covered
    end)
    return ok, { lenses = titles_seen }
  end)

  local gen
  step("generate", function()
    local d = command("TestgenGenerate", "generateTests", T * 2)
    gen = d and d.result
    local ok = type(gen) == "table" and (gen.tests_written or 0) > 0 and d.error == nil
    return ok, { done = d }
  end)

  step("generated-on-disk", function()
    -- Right after the command: what a person finds, before any :w.
    local text = read(generated)
    P.generated_text = text
    local unsaved = {}
    for _, b in ipairs(vim.api.nvim_list_bufs()) do
      if vim.api.nvim_buf_is_loaded(b) and vim.bo[b].modified then
        table.insert(unsaved, vim.api.nvim_buf_get_name(b))
      end
    end
    local wall_ok, wall_err = pcall(vim.cmd, "wall")
    local ok = text ~= nil and text:find("def test_", 1, true) ~= nil and #unsaved == 0 and wall_ok
    return ok, { exists = text ~= nil, bytes = text and #text, unsaved = unsaved, wall = wall_ok or tostring(wall_err) }
  end)

  step("generated-tests-cover", function()
    -- The server measures again after writing: every function it wrote
    -- tests for shows as covered (its lens), none as "not covered".
    local since = last_done.generateTests and last_done.generateTests.t or 0
    local targets = {}
    for _, f in ipairs(type(gen) == "table" and gen.files or {}) do
      for _, t in ipairs(f.tests or {}) do
        local q = tostring(t.target):match("::(.+)$") or tostring(t.target)
        targets[q] = true
      end
    end
    local state
    local ok = next(targets) ~= nil
      and wait(T, function()
        state = {}
        local all = true
        for q in pairs(targets) do
          local title
          for _, l in ipairs(vim.lsp.codelens.get(mod_buf)) do
            if l.data and l.data.qualname == q and l.command then
              title = l.command.title
            end
          end
          local uncovered = find(mod_buf, "uncovered-function", q) ~= nil
          state[q] = { lens = title, uncovered_diagnostic = uncovered }
          all = all and not uncovered and title ~= nil and title:find("%d+%% covered") ~= nil
        end
        return all
      end)
    local runs = {}
    for _, r in ipairs(P.runs) do
      if r.t >= since then
        table.insert(runs, r)
      end
    end
    return ok, { functions = state, runs_since_generate = runs }
  end)

  step("generate-into-open-buffer", function()
    -- A test file that is open gets the new tests in its buffer, and the
    -- plugin saves it (it had no unsaved changes).
    local text_mod = root .. "/plainlib/text.py"
    local text_tests = root .. "/tests/generated/test_plainlib_text.py"
    vim.cmd("edit " .. vim.fn.fnameescape(text_mod))
    local first = command("TestgenGenerate truncate", "generateTests", T * 2)
    vim.cmd("split " .. vim.fn.fnameescape(text_tests))
    local tbuf = vim.api.nvim_get_current_buf()
    vim.cmd("wincmd p")
    local second = command("TestgenGenerate word_counts", "generateTests", T * 2)
    local r = second and second.result or {}
    local buffer = table.concat(vim.api.nvim_buf_get_lines(tbuf, 0, -1, false), "\n") .. "\n"
    local disk = read(text_tests)
    local ok = type(r) == "table"
      and vim.deep_equal(r.in_editor, { "tests/generated/test_plainlib_text.py" })
      and vim.tbl_isempty(r.unsaved or { "?" })
      and not vim.bo[tbuf].modified
      and disk == buffer
      and buffer:find("word_counts(", 1, true) ~= nil
      and buffer:find("truncate(", 1, true) ~= nil
    vim.cmd("close") -- the split
    focus(mod_buf)
    return ok or false,
      {
        first = first and { result = first.result and first.result.written, error = first.error },
        second = second and { in_editor = r.in_editor, unsaved = r.unsaved, applied = r.applied, error = second.error },
        modified = vim.bo[tbuf].modified,
        disk_equals_buffer = disk == buffer,
      }
  end)

  -- The test file in a split, as a person looks at it.
  vim.cmd("split " .. vim.fn.fnameescape(test_file))
  test_buf = vim.api.nvim_get_current_buf()
  focus(mod_buf)

  local broken = step("break-function", function()
    focus(mod_buf)
    replace_line(mod_buf, "percent / 100), 2)", function(l)
      return { (l:gsub("percent / 100%), 2%)", "percent / 50), 2)")) }
    end)
    local since = now()
    vim.cmd("write")
    local failing
    local ok = wait(T, function()
      failing = find(test_buf, "failing-test", "test_discount")
      return failing ~= nil
    end)
    return ok and failing.severity == vim.diagnostic.severity.ERROR or false,
      { failing = failing, run = vim.deepcopy(run_after(since, 0)), test_diagnostics = diags(test_buf) }
  end)

  step("fix-command", function()
    local d = find(test_buf, "failing-test", "test_discount")
    if not d then
      return false, { why = "no failing-test diagnostic to put the cursor on" }
    end
    focus(test_buf)
    vim.api.nvim_win_set_cursor(0, { d.line + 1, 4 })
    local n = #P.notifications
    local done = command("TestgenFix", "fixTest", T)
    focus(mod_buf)
    local shown = shown_since(n)
    if done and done.result ~= nil and done.error == nil then
      return true, { result = done.result }
    end
    -- Until the fixer lands: the server's error, shown once, readable.
    local msg = done and done.error and done.error.message or ""
    return shown_once(shown, msg), { done = done, shown = shown, nodeid = d.key }
  end)

  if broken then
    step("fix-back", function()
      focus(mod_buf)
      replace_line(mod_buf, "percent / 50), 2)", function(l)
        return { (l:gsub("percent / 50%), 2%)", "percent / 100), 2)")) }
      end)
      vim.cmd("write")
      local ok = wait(T, function()
        return find(test_buf, "failing-test", "test_discount") == nil
      end)
      return ok, { test_diagnostics = diags(test_buf) }
    end)
  end

  local report
  step("report-shown", function()
    local n = #P.notifications
    report = command("TestgenReport", "showReport", T)
    local shown = shown_since(n)
    local float
    for _, w in ipairs(vim.api.nvim_list_wins()) do
      if vim.api.nvim_win_get_config(w).relative ~= "" then
        float = table.concat(vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(w), 0, -1, false), "\n")
        vim.api.nvim_win_close(w, true)
      end
    end
    P.report_float = float
    if not report then
      return false, { why = "no answer" }
    end
    if report.error then
      -- Shown once, in words (the server's message), no Lua error.
      return shown_once(shown, report.error.message or ""), { error = report.error, shown = shown }
    end
    return float ~= nil, { result = report.result, float = float }
  end)

  step("report-text", function()
    local r = report and report.result
    local ok = type(r) == "table" and type(r.text) == "string" and r.text ~= "" and P.report_float ~= nil
      and P.report_float:find(r.text:sub(1, 20), 1, true) ~= nil
    return ok, { done = report, float = P.report_float }
  end)

  local original_first
  step("import-error", function()
    focus(mod_buf)
    original_first = vim.api.nvim_buf_get_lines(mod_buf, 0, 1, false)[1]
    -- At the end: above `from __future__` it would be a SyntaxError instead.
    vim.api.nvim_buf_set_lines(mod_buf, -1, -1, false, { "import nonexistent_module_xyz" })
    local since = now()
    vim.cmd("write")
    local r = run_after(since, T)
    local hit
    local ok = r ~= nil
      and wait(20000, function()
        for name, ds in pairs(all_diags()) do
          for _, d in ipairs(ds) do
            if d.source == "testgen" and d.message:find("nonexistent_module_xyz", 1, true) then
              hit = { file = name, diagnostic = d }
              return true
            end
          end
        end
        return false
      end)
    return ok, { run = r, found = hit, all = all_diags() }
  end)

  step("restore-module", function()
    focus(mod_buf)
    local last = vim.api.nvim_buf_get_lines(mod_buf, -2, -1, false)[1]
    if last == "import nonexistent_module_xyz" then
      vim.api.nvim_buf_set_lines(mod_buf, -2, -1, false, {})
    end
    local since = now()
    vim.cmd("write")
    local r = run_after(since, T)
    local ok = r ~= nil
      and wait(20000, function()
        for _, ds in pairs(all_diags()) do
          for _, d in ipairs(ds) do
            if d.message:find("nonexistent_module_xyz", 1, true) or d.code == "failing-test" then
              return false
            end
          end
        end
        return true
      end)
    return ok, { run = r, first_line = original_first, all = all_diags() }
  end)

  -- "Fix failing test" from the code action menu on a test with a wrong
  -- import: the server's edit lands in the buffer, the plugin saves it,
  -- the test runs again and its diagnostic clears.
  step("fix-failing-test", function()
    focus(test_buf)
    vim.api.nvim_buf_set_lines(test_buf, -1, -1, false, {
      "",
      "",
      "def test_fixer_import():",
      "    # Wrong import path: apply_discount lives in plainlib.pricing.",
      "    from plainlib.text import apply_discount",
      "",
      "    assert apply_discount(100.0, 10) == 90.0",
    })
    vim.cmd("write")
    local failing
    local ok = wait(T, function()
      failing = find(test_buf, "failing-test", "test_fixer_import")
      return failing ~= nil
    end)
    if not ok then
      return false, { why = "no failing-test diagnostic", test_diagnostics = diags(test_buf) }
    end
    vim.api.nvim_win_set_cursor(0, { failing.line + 1, 4 })
    local since = now()
    local titles = {}
    vim.lsp.buf.code_action({
      apply = true,
      filter = function(a)
        table.insert(titles, a.title)
        return a.title:find("Fix failing test test_fixer_import", 1, true) ~= nil
      end,
    })
    local cleared = wait(T, function()
      return run_after(since, 0) ~= nil and find(test_buf, "failing-test", "test_fixer_import") == nil
    end)
    local text = table.concat(vim.api.nvim_buf_get_lines(test_buf, 0, -1, false), "\n")
    local fixed = text:find("    from plainlib.pricing import apply_discount", 1, true) ~= nil
    local saved = read(test_file) == text .. "\n" and not vim.bo[test_buf].modified
    return cleared and fixed and saved,
      { titles = titles, cleared = cleared, fixed = fixed, saved = saved,
        test_diagnostics = diags(test_buf), runs = run_after(since, 0) }
  end)
end

vim.api.nvim_create_autocmd("VimEnter", {
  once = true,
  callback = function()
    vim.schedule(function()
      local ok, err = pcall(run)
      if not ok then
        P.fatal = tostring(err)
      end
      P.done = true
      save()
      vim.cmd("qall!")
    end)
  end,
})
