// The SSO session store: plain data in an arena that the caller provides
// (nginx's slab pool and shmtx in production), shared by processes.
#pragma once

#include "../oidc_logout_core.h"
#include "random_id.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace oidc_logout {

/* Sessions are made of fixed-size slots carved from one block of the arena
 * at creation: the store allocates and frees them itself, so that every
 * change to the zone goes through its journal (below). */
constexpr size_t slot_size = 256;

/* An overflow slot: the part of a session's data that its head slot cannot
 * hold. */
struct OverflowSlot {
    OverflowSlot *next;
    char data[slot_size - sizeof(OverflowSlot *)];
};

/* A slot on the free list.  Its first word is also the first word of a
 * head or an overflow slot. */
struct FreeSlot {
    FreeSlot *next;
};

/* One session's head slot.  Plain data: it lives in shared memory. */
struct SessionNode {
    SessionNode *next_by_handle; /* hash chains of the three indexes */
    SessionNode *next_by_sid;
    SessionNode *next_by_sub;
    SessionNode *prev_by_sub; /* a subject's chain can be long */
    SessionNode *lru_newer;   /* toward the most recently used */
    SessionNode *lru_older;
    OverflowSlot *overflow;   /* the rest of data, when it does not fit */
    uint8_t handle[id_bytes]; /* the cookie's secret */
    uint8_t sid[id_bytes];    /* public session id */
    uint32_t created;
    uint32_t last_used;
    uint32_t sub_hash;
    uint16_t data_len;    /* bytes used in data */
    uint8_t sub_len;      /* data starts with the subject (may be empty) */
    uint8_t client_count; /* then each client: length byte, client id,
                           * length byte, the provider's sid for it */
    uint8_t slots;        /* the head and its overflow slots */
    char data[slot_size - 105];
};

static_assert(sizeof(SessionNode) == slot_size, "a head fills one slot");
static_assert(sizeof(OverflowSlot) == slot_size, "one slot");

/*
 * The undo journal.  Every store of a change to the zone first records the
 * old value here; the change is published when the journal is emptied.  A
 * process killed half-way through leaves entries behind, and the next lock
 * holder writes the old values back, newest first: the zone is as it was
 * before the step that was cut short.
 */
/*
 * A memo: a fixed table of remembered values (authorization codes waiting
 * for their token request, revoked provider cookies), memo_ways entries a
 * set; a full set forgets its entry closest to expiry.  An entry is known
 * by a keyed hash of its value: the value itself is never stored.
 */
struct MemoEntry {
    uint8_t key[16];       /* all zero: free */
    uint8_t sid[id_bytes]; /* codes: the session's sid */
    uint32_t expires;
    uint32_t client_hash; /* codes: the client's */
    uint64_t unused;
};

constexpr size_t memo_ways = 4;

struct JournalEntry {
    uintptr_t address;
    uint64_t old_value;
    uint32_t size;
    uint32_t unused;
};

constexpr size_t journal_max = 128;

/* The root of a store.  Plain data: it lives in shared memory. */
struct StoreRoot {
    uint32_t magic;
    uint32_t layout; /* sizes of the structures, to refuse another layout */
    uint32_t idle;   /* seconds, 0 for none */
    uint32_t lifetime;
    uint32_t bucket_mask;
    uint32_t rebuilding; /* set while the store is being emptied */
    uint32_t repairing;  /* repairs begun and not finished */
    uint32_t unused_flag;
    SessionNode **by_handle;
    SessionNode **by_sid;
    SessionNode **by_sub;
    char *slots; /* the first slot */
    uint64_t slot_count;
    MemoEntry *codes; /* code_sets * memo_ways entries */
    uint64_t code_sets;
    MemoEntry *revoked; /* revoked_sets * memo_ways entries */
    uint64_t revoked_sets;
    /* what changes write (through the journal), up to secret */
    SessionNode *lru_newest;
    SessionNode *lru_oldest;
    uint64_t free_count;
    FreeSlot *free_slots;
    ol_store_stats stats;
    uint8_t secret[32]; /* keys the anti-CSRF tokens; never changes */
    uint32_t journal_length;
    uint32_t unused;
    JournalEntry journal[journal_max];
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
    /* A new session without a subject yet, under a fresh handle. */
    ol_status start(uint32_t now, ol_login_result &out);
    /*
     * What the provider said of the session of id_text (its handle, or
     * its sid when by_sid): client joins it, with psid (the provider's sid
     * for that client, kept when empty); sub becomes its subject when it
     * has none.  A session of another subject ends (into *ended, when
     * given) and a new one of sub takes its place.  With rekeyed, the
     * session gets a fresh handle, written there (the browser's cookie
     * changes at every sign-in).  OL_DENIED without a live session;
     * OL_INVALID when the data does not fit; OL_NOMEM.
     */
    ol_status learn(std::string_view id_text, bool by_sid,
                    std::string_view client, std::string_view psid,
                    std::string_view sub, uint32_t now, ol_session_info *info,
                    ol_session_info *ended, unsigned &evicted,
                    std::string *rekeyed = nullptr);
    /* An authorization code, bound to the session of sid and a client
     * until expires; taken once. */
    void remember_code(std::string_view code, std::string_view sid_text,
                       std::string_view client, uint32_t expires);
    /* The sid (text) bound to code, if it is remembered and live, and
     * forgets it; whether client is the one it was given to. */
    bool take_code(std::string_view code, std::string_view client, uint32_t now,
                   std::string &sid_text);
    /* A provider cookie value that no request may carry again. */
    void revoke(std::string_view value, uint32_t expires);
    bool revoked(std::string_view value, uint32_t now);
    size_t list_by_sub(std::string_view sub, uint32_t now,
                       ol_session_info *infos, size_t max);
    ol_status end(std::string_view handle_text, uint32_t now,
                  ol_session_info *info);
    void stats(ol_store_stats &out);
    void count_delivery(ol_delivery_outcome outcome);
    /* The anti-CSRF token bound to the session of handle_text (its value
     * does not depend on whether the session lives). */
    std::string csrf_token(std::string_view handle_text) const;
    /* Walks every index, the LRU list and the free slots; a description of
     * the first inconsistency, or nullptr. */
    const char *verify();

  private:
    class Locked;

    /* The journal: set() records, then stores; commit() publishes. */
    template <typename T> void set(T &field, T value);
    void set_bytes(uint8_t *field, const uint8_t *value, size_t len);
    void record(void *address, size_t size);
    void commit();
    /* Undoes what a process that died holding the lock left unfinished;
     * then checks the store and empties it when it is damaged. */
    void recover();
    void rebuild();
    const char *check() const;
    /* Whether a journal entry names a field that changes do write. */
    bool journaled(uintptr_t address, size_t size) const;
    bool is_slot(const void *p) const;

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
    /* login(), or start() with an empty sub and handle_text. */
    ol_status open(std::string_view handle_text, std::string_view sub,
                   uint32_t now, ol_login_result &out);
    /* A new session of handle and sid with data: it takes old's place,
     * or is added when old is nullptr; nullptr when there is no room. */
    SessionNode *put(SessionNode *old, const uint8_t *handle,
                     const uint8_t *sid, std::string_view data, size_t sub_len,
                     unsigned clients, uint32_t created, uint32_t now);
    void memo_key(std::string_view label, std::string_view value,
                  uint8_t *key) const;
    MemoEntry *memo_find(MemoEntry *table, uint64_t sets, const uint8_t *key,
                         uint32_t now);
    void memo_put(MemoEntry *table, uint64_t sets, const MemoEntry &entry,
                  uint32_t now);
    void rechain(SessionNode **bucket, SessionNode *SessionNode::*next,
                 const SessionNode *node);
    void remove(SessionNode *n);
    /* Takes count free slots, forcing out sessions other than keep, least
     * recently used first, when there are too few; nullptr when even that
     * cannot make room.  The slots are linked through their first word. */
    FreeSlot *take_slots(size_t count, const SessionNode *keep, uint32_t now);
    void give_slot(void *slot);
    /* The session's data (subject, then clients) into out. */
    static size_t read_data(const SessionNode *n, char *out);
    static void write_data(SessionNode *n, size_t offset, const char *in,
                           size_t len);
    static bool sub_is(const SessionNode *n, std::string_view sub);
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
