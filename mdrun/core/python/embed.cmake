# cmake -DDIR=... -DOUT=... -P embed.cmake: writes OUT, a C file defining
# md_py_session (common.py + session.py) and md_py_one (common.py +
# one.py) as NUL-terminated strings, byte for byte.
function(embed var)
  set(hex "")
  foreach(f ${ARGN})
    file(READ ${DIR}/${f} part HEX)
    string(APPEND hex ${part})
  endforeach()
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
  set(one "'[^']+',")
  string(REGEX REPLACE "(${one}${one}${one}${one}${one}${one}${one}${one})"
    "\\1\n\t" bytes "${bytes}")
  file(APPEND ${OUT} "const char ${var}[] = {\n\t${bytes}0\n};\n")
endfunction()

file(WRITE ${OUT} "/* Generated from mdrun/core/python by embed.cmake. */\n")
embed(md_py_session common.py session.py)
embed(md_py_one common.py one.py)
