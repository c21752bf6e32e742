# Fuzz targets of the remoting codec (brokerd/remoting): fuzz_frame (DecodeFrame on a byte
# stream, with round-trip checks) and fuzz_header (the JSON and ROCKETMQ header decoders).
# Seeds: make_remoting_seeds writes fuzz/corpus/fuzz_{frame,header}/seed-* with our own encoder.
list(APPEND RS_FUZZ_TARGETS fuzz_frame fuzz_header)
set(RS_FUZZ_LIBS_fuzz_frame remoting)
set(RS_FUZZ_LIBS_fuzz_header remoting)

if(RS_BUILD_FUZZ)
  # Coverage feedback from the codec, not only from the harnesses.
  target_compile_options(remoting PRIVATE -fsanitize=fuzzer-no-link)
endif()

add_executable(make_remoting_seeds ${PROJECT_SOURCE_DIR}/brokerd/remoting/tools/make_remoting_seeds.cc)
target_link_libraries(make_remoting_seeds PRIVATE remoting)
