// AllocateMessageQueueAveragely (see rebalance.h).
#include "client/rebalance.h"

#include <algorithm>
#include <cstdint>

namespace rsclient {

std::vector<MessageQueue> AllocateAveragely(const std::vector<MessageQueue>& queues,
                                            const std::vector<std::string>& consumer_ids,
                                            const std::string& me) {
  std::vector<MessageQueue> out;
  auto it = std::find(consumer_ids.begin(), consumer_ids.end(), me);
  if (it == consumer_ids.end() || queues.empty()) return out;
  const int64_t n = static_cast<int64_t>(queues.size());
  const int64_t c = static_cast<int64_t>(consumer_ids.size());
  const int64_t i = it - consumer_ids.begin();
  const int64_t mod = n % c;
  const int64_t avg = n <= c ? 1 : (mod > 0 && i < mod ? n / c + 1 : n / c);
  const int64_t start = (mod > 0 && i < mod) ? i * avg : i * avg + mod;
  const int64_t range = std::min(avg, n - start);
  for (int64_t k = 0; k < range; ++k) out.push_back(queues[static_cast<size_t>((start + k) % n)]);
  return out;
}

}  // namespace rsclient
