--- Handlers for what the testgen server sends that Neovim does not handle
--- the way testgen needs.
local M = {}

--- Refreshes the code lenses of one buffer (all attached ones without it).
function M.refresh_lenses(bufnr)
  if bufnr and not vim.api.nvim_buf_is_loaded(bufnr) then
    return
  end
  vim.lsp.codelens.refresh(bufnr and { bufnr = bufnr } or nil)
end

local function client_buffers(client_id)
  local client = vim.lsp.get_client_by_id(client_id)
  local out = {}
  for bufnr in pairs(client and client.attached_buffers or {}) do
    table.insert(out, bufnr)
  end
  return out
end

--- workspace/codeLens/refresh: Neovim 0.10/0.11 have no handler for it.
local function lens_refresh(_, _, ctx)
  for _, bufnr in ipairs(client_buffers(ctx.client_id)) do
    M.refresh_lenses(bufnr)
  end
  return vim.NIL
end

--- The buffers a workspace edit names.
local function edited_files(edit)
  local files = {}
  for _, change in ipairs(edit.documentChanges or {}) do
    if change.textDocument then
      table.insert(files, vim.uri_to_fname(change.textDocument.uri))
    end
  end
  for uri in pairs(edit.changes or {}) do
    table.insert(files, vim.uri_to_fname(uri))
  end
  return files
end

local function modified(fname)
  local bufnr = vim.fn.bufnr(fname)
  return bufnr ~= -1 and vim.api.nvim_buf_is_loaded(bufnr) and vim.bo[bufnr].modified
end

--- workspace/applyEdit: testgen only edits open buffers (new and closed
--- files it writes to disk itself). Neovim leaves an edited buffer unsaved;
--- generated tests belong on disk, where pytest and the next "Generate
--- tests" find them, so the buffers that had no unsaved changes before the
--- edit are written afterwards (`save_edits = false` turns this off). A
--- buffer the user had changed is never saved behind their back.
local function apply_edit(err, params, ctx, config)
  local files = edited_files(params.edit or {})
  local before = {}
  for _, f in ipairs(files) do
    before[f] = modified(f)
  end
  local default = vim.lsp.handlers["workspace/applyEdit"]
  local result = default(err, params, ctx, config)
  if not (result and result.applied and require("testgen").options.save_edits) then
    return result
  end
  for _, f in ipairs(files) do
    local bufnr = vim.fn.bufnr(f)
    if not before[f] and modified(f) then
      local ok, e = pcall(vim.api.nvim_buf_call, bufnr, function()
        vim.cmd("silent keepalt update")
      end)
      if not ok then
        vim.notify("testgen: could not save " .. f .. ": " .. tostring(e), vim.log.levels.ERROR)
      end
    end
  end
  return result
end

--- What the server showed last, so a command's error is not shown twice
--- (the server shows most of its command errors itself).
M.shown = {}

local levels = { vim.log.levels.ERROR, vim.log.levels.WARN, vim.log.levels.INFO, vim.log.levels.DEBUG }

--- window/showMessage through vim.notify (Neovim echoes all but errors,
--- which notification plugins then never see), prefixed "testgen: ".
local function show_message(_, params)
  if params and params.message then
    M.shown[params.message] = vim.uv.now()
    local msg = params.message
    if not vim.startswith(msg, "testgen") then
      msg = "testgen: " .. msg
    end
    vim.notify(msg, levels[params.type] or vim.log.levels.INFO)
  end
  return vim.NIL
end

--- Whether the server showed `message` in the last few seconds.
function M.was_shown(message)
  local at = M.shown[message]
  return at ~= nil and vim.uv.now() - at < 5000
end

--- testgen/coverageChanged (docs/lsp-extensions.md): the lenses show it.
M.last_coverage = nil
local function coverage_changed(_, params, ctx)
  M.last_coverage = params
  for _, bufnr in ipairs(client_buffers(ctx.client_id)) do
    M.refresh_lenses(bufnr)
  end
end

function M.for_client()
  return {
    ["workspace/codeLens/refresh"] = lens_refresh,
    ["workspace/applyEdit"] = apply_edit,
    ["window/showMessage"] = show_message,
    ["testgen/coverageChanged"] = coverage_changed,
  }
end

return M
