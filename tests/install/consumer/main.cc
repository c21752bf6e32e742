// Writes one message through the installed library and reads it back; exits non-zero on any
// mismatch. Usage: consumer STORE_DIR
#include <cstdio>
#include <string>

#include "libstore/message_store.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  libstore::StoreOptions o;
  o.root_dir = argv[1];
  o.commitlog_file_size = 1 << 20;
  o.max_message_size = 64 << 10;
  o.index_hash_slots = 64;
  o.index_max_entries = 256;
  auto store = libstore::MessageStore::Open(o);
  if (!store.ok()) return 1;
  libstore::MessageToStore m;
  m.topic = "Installed";
  m.body = "hello from find_package";
  m.born_host = *libstore::HostAddress::Parse("127.0.0.1:1");
  auto r = (*store)->Put(m);
  if (!r.ok()) return 1;
  auto got = (*store)->GetMessageByOffset(r->wrote_offset);
  if (!got.ok() || got->message.body != m.body) return 1;
  std::printf("ok: %.*s at %lld\n", static_cast<int>(got->message.body.size()),
              got->message.body.data(), static_cast<long long>(r->wrote_offset.value()));
  return (*store)->Close().ok() ? 0 : 1;
}
