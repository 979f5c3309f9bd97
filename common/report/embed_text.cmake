# Writes the text of IN as a C++ header OUT declaring `inline constexpr char NAME[]` (a raw string
# literal), so a template ships inside the binary: cmake -DIN=... -DOUT=... -DNAME=... -P this.
file(READ "${IN}" TEXT)
if(TEXT MATCHES "\\)GP_EMBED\"")
  message(FATAL_ERROR "${IN} contains the raw string's delimiter )GP_EMBED\"")
endif()
file(WRITE "${OUT}" "// Generated from ${IN} by embed_text.cmake: do not edit.\n#pragma once\n\nnamespace gp {\n\ninline constexpr char ${NAME}[] = R\"GP_EMBED(${TEXT})GP_EMBED\";\n\n}  // namespace gp\n")
