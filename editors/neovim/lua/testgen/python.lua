--- Just enough Python structure to name the function under the cursor,
--- without a Python tree-sitter parser (Neovim does not ship one): the
--- enclosing `def`/`class` lines found by indentation.
local M = {}

local function indent_of(line)
  local ws = line:match("^(%s*)")
  return #ws:gsub("\t", "        ")
end

--- A line that opens a scope: kind ("def"/"class") and name.
local function opener(line)
  local name = line:match("^%s*async%s+def%s+([%w_]+)") or line:match("^%s*def%s+([%w_]+)")
  if name then
    return "def", name
  end
  name = line:match("^%s*class%s+([%w_]+)")
  if name then
    return "class", name
  end
end

--- Lines that say nothing about nesting: blank lines, comments, and the
--- closing lines of a bracket (`) -> float:` of a long signature).
local function neutral(line)
  return line:match("^%s*$") or line:match("^%s*#") or line:match("^%s*[%)%]}]")
end

--- The scopes around line `lnum` (1-based), outermost first:
--- { {kind=, name=, lnum=}, ... }.
function M.scopes(bufnr, lnum)
  local lines = vim.api.nvim_buf_get_lines(bufnr, 0, lnum, false)
  local chain = {}
  local limit = math.huge
  for i = #lines, 1, -1 do
    local line = lines[i]
    local kind, name = opener(line)
    if i == #lines and kind then
      table.insert(chain, 1, { kind = kind, name = name, lnum = i })
      limit = indent_of(line)
    elseif not neutral(line) then
      local ind = indent_of(line)
      if i == #lines then
        limit = ind
      elseif ind < limit then
        if kind then
          table.insert(chain, 1, { kind = kind, name = name, lnum = i })
        end
        limit = ind
      end
    end
    if limit == 0 then
      break
    end
  end
  return chain
end

--- The function testgen targets at the cursor: the outermost `def` with
--- the classes around it ("Class.method"); a nested function's tests go to
--- the function that holds it. Returns qualname and the def's line.
function M.function_at(bufnr, lnum)
  local names = {}
  for _, s in ipairs(M.scopes(bufnr, lnum)) do
    table.insert(names, s.name)
    if s.kind == "def" then
      return table.concat(names, "."), s.lnum
    end
  end
  return nil
end

--- The innermost `def` around the cursor (a test function or method).
function M.innermost_def(bufnr, lnum)
  local chain = M.scopes(bufnr, lnum)
  for i = #chain, 1, -1 do
    if chain[i].kind == "def" then
      return chain[i]
    end
  end
  return nil
end

--- Every function's qualname in the buffer (for command completion).
function M.all_functions(bufnr)
  local out = {}
  local n = vim.api.nvim_buf_line_count(bufnr)
  local lines = vim.api.nvim_buf_get_lines(bufnr, 0, n, false)
  for i, line in ipairs(lines) do
    if opener(line) == "def" then
      local q = M.function_at(bufnr, i)
      if q and not vim.tbl_contains(out, q) then
        table.insert(out, q)
      end
    end
  end
  return out
end

return M
