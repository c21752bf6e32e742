// Queue allocation among the members of a consumer group: RocketMQ's
// AllocateMessageQueueAveragely, exactly as rocketmq-store.md section 8.3 gives it. Every member
// sorts the same queue list and the same consumer id list and runs the same function, so the
// members' shares are disjoint and cover every queue without talking to each other.
// Thread-safety: a pure function.
#ifndef CLIENT_REBALANCE_H_
#define CLIENT_REBALANCE_H_

#include <string>
#include <vector>

#include "client/route.h"

namespace rsclient {

// The queues of consumer `me` among `consumer_ids`, with n = queues, c = consumers and i = the
// index of me: mod = n % c; avg = n <= c ? 1 : (mod > 0 && i < mod ? n / c + 1 : n / c);
// start = mod > 0 && i < mod ? i * avg : i * avg + mod; range = min(avg, n - start); me gets
// queues[(start + k) % n] for k < range. Both lists must be sorted; a consumer that is not in
// the list, or whose index is past the queues, gets nothing.
std::vector<MessageQueue> AllocateAveragely(const std::vector<MessageQueue>& queues,
                                            const std::vector<std::string>& consumer_ids,
                                            const std::string& me);

}  // namespace rsclient

#endif  // CLIENT_REBALANCE_H_
