--- testgen for Neovim: starts the testgen language server for Python
--- buffers and wires what Neovim does not do by itself (code lens refresh,
--- saving the buffers testgen edits). Commands live in `testgen.commands`.
---
--- Two ways in (see `:help testgen`):
---   require("testgen").setup({ ... })               -- Neovim >= 0.10
---   vim.lsp.enable("testgen")                       -- Neovim >= 0.11, uses lsp/testgen.lua
local handlers = require("testgen.handlers")

local M = {}

M.root_markers = { "pyproject.toml", "setup.py", "setup.cfg", "requirements.txt", ".git" }

--- The options of the last `setup()` (also read by the handlers).
M.options = {
  cmd = { "testgen", "lsp" },
  settings = nil,
  init_options = nil,
  save_edits = true,
}

--- Lua's empty table encodes to a JSON array; the server wants objects.
local function object(t)
  if t == nil or (type(t) == "table" and next(t) == nil) then
    return vim.empty_dict()
  end
  return t
end

--- Called when the client attaches to a buffer: lenses now and after each
--- save (the server also asks for a refresh after every test run).
function M.on_attach(client, bufnr)
  handlers.refresh_lenses(bufnr)
  local group = vim.api.nvim_create_augroup("testgen_lenses_" .. bufnr, { clear = true })
  vim.api.nvim_create_autocmd("BufWritePost", {
    group = group,
    buffer = bufnr,
    desc = "testgen: refresh code lenses",
    callback = function()
      handlers.refresh_lenses(bufnr)
    end,
  })
end

--- The client configuration, usable with `vim.lsp.start()` and
--- `vim.lsp.config()` alike. `opts` as for `setup()`.
function M.config(opts)
  opts = vim.tbl_extend("force", M.options, opts or {})
  local capabilities = vim.lsp.protocol.make_client_capabilities()
  -- Neovim answers workspace/codeLens/refresh only when a plugin does:
  -- declare it, so the server asks after each run (handlers.lua answers).
  capabilities.workspace = capabilities.workspace or {}
  capabilities.workspace.codeLens = { refreshSupport = true }
  return {
    name = "testgen",
    cmd = opts.cmd,
    cmd_env = opts.cmd_env,
    filetypes = { "python" },
    root_markers = M.root_markers,
    settings = { testgen = object(opts.settings) },
    init_options = opts.init_options and object(opts.init_options) or nil,
    capabilities = capabilities,
    handlers = handlers.for_client(),
    on_attach = M.on_attach,
  }
end

--- The project root of a buffer: the nearest directory with one of the
--- markers, else the file's own directory.
function M.root(bufnr)
  local root = vim.fs.root(bufnr, M.root_markers)
  if root then
    return root
  end
  local name = vim.api.nvim_buf_get_name(bufnr)
  return name ~= "" and vim.fs.dirname(name) or vim.fn.getcwd()
end

--- Starts (or reuses) the server for one buffer.
function M.start(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  if vim.bo[bufnr].buftype ~= "" or vim.api.nvim_buf_get_name(bufnr) == "" then
    return nil
  end
  local config = M.config()
  config.root_dir = M.root(bufnr)
  config.root_markers = nil
  config.filetypes = nil
  return vim.lsp.start(config, { bufnr = bufnr })
end

--- setup({ cmd?, cmd_env?, settings?, init_options?, save_edits? })
--- Starts the server for every Python buffer, now and later.
function M.setup(opts)
  if vim.fn.has("nvim-0.10") ~= 1 then
    vim.notify("testgen: Neovim 0.10 or newer is needed", vim.log.levels.ERROR)
    return
  end
  M.options = vim.tbl_extend("force", M.options, opts or {})
  local group = vim.api.nvim_create_augroup("testgen_start", { clear = true })
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = "python",
    desc = "testgen: start the language server",
    callback = function(args)
      M.start(args.buf)
    end,
  })
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.bo[bufnr].filetype == "python" then
      M.start(bufnr)
    end
  end
end

return M
