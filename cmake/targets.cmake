# Interface targets that carry our build policy. Our own targets link them;
# nothing here touches CMAKE_C_FLAGS, so third-party code is unaffected.

add_library(wt_warnings INTERFACE)
target_compile_options(wt_warnings INTERFACE
  -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
  -Wformat=2 -Wvla -Wpointer-arith -Wcast-qual)
if(WT_WERROR)
  target_compile_options(wt_warnings INTERFACE -Werror)
endif()

add_library(wt_sanitizers INTERFACE)
if(WT_FUZZ)
  # Coverage instrumentation for libFuzzer on all our code, plus ASan+UBSan.
  target_compile_options(wt_sanitizers INTERFACE
    -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  target_link_options(wt_sanitizers INTERFACE -fsanitize=address,undefined)
elseif(WT_SANITIZE)
  target_compile_options(wt_sanitizers INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(wt_sanitizers INTERFACE -fsanitize=address,undefined)
endif()

# wt_defaults: what every target of ours links.
add_library(wt_defaults INTERFACE)
target_link_libraries(wt_defaults INTERFACE wt_warnings wt_sanitizers)
target_compile_definitions(wt_defaults INTERFACE _POSIX_C_SOURCE=200809L)
