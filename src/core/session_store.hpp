// The SSO session store: plain data in an arena that the caller provides
// (nginx's slab pool and shmtx in production), shared by processes.
#pragma once

#include "../oidc_logout_core.h"
#include "random_id.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace oidc_logout {

/* One session.  Plain data: it lives in shared memory. */
struct SessionNode {
    SessionNode *next_by_handle; /* hash chains of the three indexes */
    SessionNode *next_by_sid;
    SessionNode *next_by_sub;
    SessionNode *prev_by_sub; /* a subject's chain can be long */
    SessionNode *lru_newer;   /* toward the most recently used */
    SessionNode *lru_older;
    uint8_t handle[id_bytes]; /* the cookie's secret */
    uint8_t sid[id_bytes];    /* public session id */
    uint32_t created;
    uint32_t last_used;
    uint32_t sub_hash;
    uint16_t capacity;    /* bytes allocated for the node */
    uint16_t data_len;    /* bytes used in data */
    uint8_t sub_len;      /* data starts with the subject */
    uint8_t client_count; /* then each client: length byte, bytes */
    char data[1];
};

/* The root of a store.  Plain data: it lives in shared memory. */
struct StoreRoot {
    uint32_t magic;
    uint32_t layout; /* sizes of the structures, to refuse another layout */
    uint32_t idle;   /* seconds, 0 for none */
    uint32_t lifetime;
    uint32_t bucket_mask;
    SessionNode **by_handle;
    SessionNode **by_sid;
    SessionNode **by_sub;
    SessionNode *lru_newest;
    SessionNode *lru_oldest;
    ol_store_stats stats;
    uint8_t secret[32]; /* keys the anti-CSRF tokens; never changes */
};

/*
 * Operations on a store.  Each public call takes the arena's lock for the
 * time of its own work on the indexes; random bytes and encodings are made
 * before or after.
 */
class SessionStore {
  public:
    SessionStore(StoreRoot *root, const ol_arena &arena)
        : root_(root), arena_(arena)
    {
    }

    static StoreRoot *create(const ol_arena &arena, size_t zone_size);
    /* Why an existing root cannot be used, or nullptr. */
    static const char *incompatible(const StoreRoot *root);

    void configure(uint32_t idle, uint32_t lifetime);
    ol_status login(std::string_view handle_text, std::string_view sub,
                    uint32_t now, ol_login_result &out);
    ol_status join(std::string_view handle_text, std::string_view client,
                   uint32_t now, ol_session_info *info, unsigned &evicted);
    ol_status find(std::string_view handle_text, uint32_t now, bool touch,
                   ol_session_info *info);
    ol_status find_by_sid(std::string_view sid_text, uint32_t now,
                          ol_session_info *info);
    size_t list_by_sub(std::string_view sub, uint32_t now,
                       ol_session_info *infos, size_t max);
    ol_status end(std::string_view handle_text, uint32_t now,
                  ol_session_info *info);
    void stats(ol_store_stats &out);
    void count_delivery(ol_delivery_outcome outcome);
    /* The anti-CSRF token bound to the session of handle_text (its value
     * does not depend on whether the session lives). */
    std::string csrf_token(std::string_view handle_text) const;
    /* Walks every index and the LRU list; a description of the first
     * inconsistency, or nullptr. */
    const char *verify();

  private:
    class Locked;

    SessionNode *find_id(SessionNode *const *bucket,
                         SessionNode *SessionNode::*next,
                         uint8_t (SessionNode::*key)[id_bytes],
                         const uint8_t *id, uint32_t now);
    SessionNode *find_handle(const uint8_t *handle, uint32_t now);
    /* Decodes id_text, finds its session with lookup under the lock, copies
     * it to info and runs act on it; OL_DENIED when there is none. */
    template <typename Act>
    ol_status with_session(std::string_view id_text,
                           SessionNode *(SessionStore::*lookup)(const uint8_t *,
                                                                uint32_t),
                           uint32_t now, ol_session_info *info, Act act);
    SessionNode *find_sid(const uint8_t *sid, uint32_t now);
    bool expired(const SessionNode *n, uint32_t now) const;
    /* Removes n when it has expired; says whether it did. */
    bool drop_if_expired(SessionNode *n, uint32_t now);
    void touch(SessionNode *n, uint32_t now);
    void link(SessionNode *n);
    void unlink(SessionNode *n);
    void replace(SessionNode *old_node, SessionNode *new_node);
    void remove(SessionNode *n);
    /* A node of capacity bytes, making room when the arena is full. */
    SessionNode *allocate(size_t capacity, const SessionNode *keep,
                          uint32_t now);
    void copy_info(const SessionNode *n, ol_session_info *info) const;
    static void finish_info(ol_session_info *info);
    ol_status join_locked(const uint8_t *handle, std::string_view client,
                          uint32_t now, ol_session_info *info,
                          unsigned &evicted);
    SessionNode **handle_bucket(const uint8_t *handle) const;
    SessionNode **sid_bucket(const uint8_t *sid) const;
    SessionNode **sub_bucket(uint32_t hash) const;

    StoreRoot *root_;
    const ol_arena &arena_;
};

} // namespace oidc_logout
