# Fuzz targets of the configuration area (brokerd/config): the Java properties parser, and
# broker / name server config loading. Corpora: corpus/fuzz_properties/,
# corpus/fuzz_broker_config/ (hand-written seeds; see README.md).
list(APPEND RS_FUZZ_TARGETS fuzz_properties fuzz_broker_config)
set(RS_FUZZ_LIBS_fuzz_properties brokerconfig)
set(RS_FUZZ_LIBS_fuzz_broker_config brokerconfig)
