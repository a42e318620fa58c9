// The store's inner helpers and its lock, shared by the files of the
// store (session_store.cpp, session_cluster.cpp).  Included once each,
// inside namespace oidc_logout.
#pragma once

#include "session_store.hpp"

#include <atomic>
#include <cstring>
#include <exception>

namespace oidc_logout {

namespace {

constexpr uint32_t store_magic = 0x4f4c5353; /* "OLSS" */
/* Bumped whenever the meaning of the data changes; sizes catch the rest. */
constexpr uint32_t store_format = 8;
static_assert(sizeof(StoreRoot) < 4096, "the layout word holds its size");
constexpr uint32_t store_layout = static_cast<uint32_t>(
    store_format << 24 | sizeof(StoreRoot) << 12 | sizeof(SessionNode));
/* Cluster mode: a pending session's cause bit while Redis has not heard
 * of its end, and how long its deliveries wait for Redis's word. */
constexpr uint8_t cause_unpublished = 0x80;
/* ... and once a client of it was told: Redis's record of it adds no
 * client then (those told are not known any more) */
constexpr uint8_t cause_told = 0x40;
/* ... and its sid field holds a cookie value: a session this node did not
 * know, ended while Redis was unreachable */
constexpr uint8_t cause_by_handle = 0x20;
constexpr uint8_t cause_flags =
    cause_unpublished | cause_told | cause_by_handle;
constexpr uint32_t publish_hold = 3;
/* How long an ended sid is refused by import(): longer than a record read
 * from Redis before the end can take to arrive. */
constexpr uint32_t ended_memory = 60;
/* Expired sessions looked at, from the oldest, before forcing one out. */
constexpr int expire_scan = 32;
/* The share of the zone's slots kept for pending sessions, and the
 * fewest. */
constexpr size_t pending_share = 16;
constexpr size_t pending_min = 8; /* a session takes at most 5 */
/* Entries of the table of client counters: one for each 1024 bytes of the
 * zone, at most this many. */
constexpr size_t client_counter_max = 256;
/* Expired sessions one sweep ends from the oldest end. */
constexpr int sweep_scan = 256;
/* Bytes of data in a head slot, and in each overflow slot. */
constexpr size_t head_data = sizeof(SessionNode::data);
constexpr size_t overflow_data = sizeof(OverflowSlot::data);

constexpr size_t
slots_for(size_t data_len)
{
    return data_len <= head_data
               ? 1
               : 1 + (data_len - head_data + overflow_data - 1) / overflow_data;
}

static_assert(slots_for(OL_SESSION_DATA_MAX) <= UINT8_MAX, "slots fit");

inline uint32_t
id_hash(const uint8_t *id)
{
    uint32_t h;
    std::memcpy(&h, id, sizeof(h)); /* ids are random */
    return h;
}

inline uint32_t
text_hash(std::string_view s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (char c : s) {
        h ^= static_cast<uint8_t>(c);
        h *= 16777619u;
    }
    return h;
}

inline size_t
round_up_pow2(size_t n)
{
    size_t p = 1;
    while (p < n) {
        p <<= 1;
    }
    return p;
}

/* Keeps the compiler from moving stores across it: a process can be
 * killed between any two instructions, and the journal must always be
 * written before what it protects. */
inline void
ordered()
{
    std::atomic_signal_fence(std::memory_order_seq_cst);
}

/* A client's entry in a session's data: length byte, client id, length
 * byte, the provider's sid for it.  Returns its length. */
inline size_t
put_entry(char *out, std::string_view client, std::string_view psid)
{
    out[0] = static_cast<char>(client.size());
    std::memcpy(out + 1, client.data(), client.size());
    out[1 + client.size()] = static_cast<char>(psid.size());
    if (!psid.empty()) {
        std::memcpy(out + 2 + client.size(), psid.data(), psid.size());
    }
    return 2 + client.size() + psid.size();
}

/* Walks the client entries of data (count of them, after the subject). */
template <typename Visit>
void
each_entry(const char *data, size_t sub_len, unsigned count, Visit visit)
{
    const char *p = data + sub_len;
    for (unsigned i = 0; i < count; i++) {
        uint8_t len = static_cast<uint8_t>(p[0]);
        uint8_t psid_len = static_cast<uint8_t>(p[1 + len]);
        visit(p, std::string_view(p + 1, len),
              std::string_view(p + 2 + len, psid_len));
        p += 2 + len + psid_len;
    }
}

} // namespace

/* Holds the arena's lock for a scope.  The holder first repairs what a
 * process that died holding it left unfinished, and publishes its own
 * changes before letting go. */
class SessionStore::Locked {
  public:
    explicit Locked(SessionStore &store, bool repair = true)
        : store_(store), repair_(repair),
          exceptions_(std::uncaught_exceptions())
    {
        store_.arena_.lock(store_.arena_.data);
        if (repair_) {
            store_.recover();
        }
    }
    ~Locked()
    {
        if (repair_ && std::uncaught_exceptions() > exceptions_) {
            /* a step cut short by an exception is undone, as a crash's */
            store_.undo();
            store_.recount_waiting();
        }
        if (repair_) {
            store_.commit();
        }
        store_.arena_.unlock(store_.arena_.data);
    }
    Locked(const Locked &) = delete;
    Locked &operator=(const Locked &) = delete;

  private:
    SessionStore &store_;
    bool repair_;
    int exceptions_;
};

template <typename T>
void
SessionStore::set(T &field, T value)
{
    static_assert(sizeof(T) <= sizeof(uint64_t), "one journal entry");
    record(&field, sizeof(T));
    field = value;
}

} // namespace oidc_logout
