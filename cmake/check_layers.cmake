# check_layers.cmake - the gateway's layers keep their order.
#
#   cmake -DGATEWAY=<repo>/gateway -DCODEC=<repo>/wintalk -P check_layers.cmake
#
# gateway/ holds four folders, lowest first: proto, store, hub, server
# (docs/architecture.md). Every `#include "..."` of a file in one of them
# must name a header of its own folder, of a folder below it, or of the
# WINTALK codec. Besides:
#   - the hub reaches storage only through the store interfaces (gw_store.h,
#     gw_accounts.h), never an engine's header;
#   - a private header (gw_*_int.h) is included only inside its own folder;
#   - the store's glue (server/gw_storage.c, .h) is handed the loop and the
#     clock as arguments: of server/ it includes only its own header and
#     the configuration's, never the loop's owner or the transports;
#   - no .c file is included, and no source file lies at the top of gateway/.
# Each include that breaks a rule is named with its file; any one fails.
# The per-layer libraries already refuse most of these at compile time
# (each sees only its own folder and those below); this check also names
# what an include path cannot catch (an engine's header in the hub, a
# private header, a relative path).

if(NOT GATEWAY OR NOT IS_DIRECTORY "${GATEWAY}")
  message(FATAL_ERROR "check_layers: give -DGATEWAY=<the gateway folder>")
endif()

set(layers proto store hub server)

# Which folder holds each header name (the codec's are layer -1: below all).
set(home_wt_codec.h -1)
if(CODEC AND IS_DIRECTORY "${CODEC}")
  file(GLOB codec_headers RELATIVE "${CODEC}" "${CODEC}/*.h")
  foreach(h IN LISTS codec_headers)
    set(home_${h} -1)
  endforeach()
endif()
set(rank 0)
foreach(layer IN LISTS layers)
  set(rank_${layer} ${rank})
  file(GLOB headers RELATIVE "${GATEWAY}/${layer}" "${GATEWAY}/${layer}/*.h")
  foreach(h IN LISTS headers)
    if(DEFINED home_${h})
      message(FATAL_ERROR "check_layers: ${h} is in two folders")
    endif()
    set(home_${h} ${rank})
    set(folder_${h} ${layer})
  endforeach()
  math(EXPR rank "${rank} + 1")
endforeach()

set(broken "")
file(GLOB top RELATIVE "${GATEWAY}" "${GATEWAY}/*.c" "${GATEWAY}/*.h")
foreach(f IN LISTS top)
  list(APPEND broken "gateway/${f}: a source file at the top of gateway/ (put it in its layer's folder)")
endforeach()

set(checked 0)
foreach(layer IN LISTS layers)
  file(GLOB sources RELATIVE "${GATEWAY}/${layer}" "${GATEWAY}/${layer}/*.c" "${GATEWAY}/${layer}/*.h")
  foreach(f IN LISTS sources)
    file(STRINGS "${GATEWAY}/${layer}/${f}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*\"")
    foreach(line IN LISTS lines)
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*\"([^\"]*)\".*$" "\\1" inc "${line}")
      math(EXPR checked "${checked} + 1")
      set(where "gateway/${layer}/${f}: #include \"${inc}\"")
      if(inc MATCHES "/")
        list(APPEND broken "${where}: a path (include a header by its name)")
      elseif(inc MATCHES "\\.c$")
        list(APPEND broken "${where}: a .c file")
      elseif(NOT DEFINED home_${inc})
        list(APPEND broken "${where}: not a header of gateway/'s folders or of the codec")
      elseif(home_${inc} GREATER rank_${layer})
        list(APPEND broken "${where}: ${folder_${inc}}/ is above ${layer}/")
      elseif(inc MATCHES "_int\\.h$" AND NOT folder_${inc} STREQUAL layer)
        list(APPEND broken "${where}: private to ${folder_${inc}}/")
      elseif(layer STREQUAL "hub" AND DEFINED folder_${inc} AND folder_${inc} STREQUAL "store"
             AND NOT inc MATCHES "^gw_(store|accounts)\\.h$")
        list(APPEND broken "${where}: the hub reaches storage only through gw_store.h and gw_accounts.h")
      elseif(f MATCHES "^gw_storage\\.[ch]$" AND folder_${inc} STREQUAL "server"
             AND NOT inc MATCHES "^gw_(storage|config)\\.h$")
        list(APPEND broken "${where}: the store's glue takes the loop as an argument, not from the rest of server/")
      endif()
    endforeach()
  endforeach()
endforeach()

if(checked EQUAL 0)
  message(FATAL_ERROR "check_layers: no include found under ${GATEWAY}: wrong folder?")
endif()
list(LENGTH broken n)
if(n GREATER 0)
  list(JOIN broken "\n  " text)
  message(FATAL_ERROR "check_layers: ${n} include(s) break the layers:\n  ${text}")
endif()
message(STATUS "check_layers: ${checked} includes, every one within its layer or below")
