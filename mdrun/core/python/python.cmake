# The python drivers, kept as Python files and compiled into mdrun as C
# strings: common.py, then the driver's own file.
set(MDRUN_PY_DIR ${CMAKE_CURRENT_SOURCE_DIR}/mdrun/core/python)
set(MDRUN_PY_C ${CMAKE_CURRENT_BINARY_DIR}/python_drivers.c)
add_custom_command(OUTPUT ${MDRUN_PY_C}
  COMMAND ${CMAKE_COMMAND} -DDIR=${MDRUN_PY_DIR} -DOUT=${MDRUN_PY_C}
    -P ${MDRUN_PY_DIR}/embed.cmake
  DEPENDS ${MDRUN_PY_DIR}/embed.cmake ${MDRUN_PY_DIR}/common.py
    ${MDRUN_PY_DIR}/session.py ${MDRUN_PY_DIR}/one.py
  COMMENT "Embedding the python drivers")
target_sources(mdrun_core PRIVATE ${MDRUN_PY_C})
