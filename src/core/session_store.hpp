// The SSO session store: plain data in an arena that the caller provides
// (nginx's slab pool and shmtx in production), shared by processes.
#pragma once

#include "../oidc_logout_core.h"
#include "random_id.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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

/* One session's head slot.  Plain data: it lives in shared memory.  An
 * ended session whose clients still wait for their logout tokens is copied
 * into the pending area, where the same layout holds it (see below). */
struct SessionNode {
    SessionNode *next_by_handle; /* hash chains of the three indexes */
    SessionNode *next_by_sid;
    SessionNode *next_by_sub;
    SessionNode *prev_by_sub; /* a subject's chain can be long */
    SessionNode *lru_newer;   /* toward the most recently used; pending:
                               * the outbox, toward the newest */
    SessionNode *lru_older;
    OverflowSlot *overflow;   /* the rest of data, when it does not fit */
    uint8_t handle[id_bytes]; /* the cookie's secret; pending: zero */
    uint8_t sid[id_bytes];    /* public session id */
    uint32_t created;
    uint32_t last_used; /* pending: when the session ended */
    uint32_t sub_hash;
    uint32_t due;         /* pending: when its deliveries are tried next;
                           * live, cluster mode: the number of its last
                           * change, 0 when written to Redis */
    uint32_t lease;       /* pending: a worker delivers them until then;
                           * live, cluster mode: the deadline written to
                           * Redis */
    uint16_t data_len;    /* bytes used in data */
    uint16_t attempts;    /* pending: rounds of deliveries tried */
    uint8_t sub_len;      /* data starts with the subject (may be empty) */
    uint8_t client_count; /* then each client: length byte, client id,
                           * length byte, the provider's sid for it;
                           * pending: the clients still waiting */
    uint8_t slots;        /* the head and its overflow slots */
    uint8_t cause;        /* pending: why it ended, an ol_end_cause (with
                           * cause_unpublished: Redis has not heard yet) */
    char data[slot_size - 116];
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

/* Cluster mode: a memo entry remembered (or taken: expires 0) here, for
 * the other nodes; table is an ol_cluster_memo_table. */
struct MemoChange {
    uint32_t table;
    uint32_t unused;
    MemoEntry entry;
};

constexpr size_t memo_log_max = 256; /* 16 in zones under 1 MB */

struct JournalEntry {
    uintptr_t address;
    uint64_t old_value;
    uint32_t size;
    uint32_t unused;
};

constexpr size_t journal_max = 128;

/* The back-channel outcomes of one client, known by a hash of its id
 * (0: a free entry), and its deliveries waiting in the outbox: counted
 * with atomic adds. */
struct ClientCounter {
    uint32_t hash;
    uint32_t unused;
    uint64_t sent[OL_SENT_OUTCOMES];
    uint64_t pending;
};

/* A pending session a worker holds: where it is, and until when (0: held
 * by nobody in particular, for the tests). */
struct Claim {
    uint64_t ref = 0; /* its slot in the pending area, from 1; 0: none */
    uint32_t until = 0;
};

/* What a worker takes from the outbox to deliver: a copy of a pending
 * session, and where it is. */
struct Pending {
    Claim claim;
    ol_session_info info{};
    ol_end_cause cause = OL_END_LOGOUT;
    uint32_t ended = 0;
    unsigned attempts = 0;
};

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
    MemoEntry *jtis; /* logout tokens taken by the receiver */
    uint64_t jti_sets;
    MemoEntry *ended; /* cluster mode: sids that ended, for a while */
    uint64_t ended_sets;
    MemoChange *memo_log; /* cluster mode: a ring of memo_log_size */
    uint64_t memo_log_size;
    /* the pending area: slots of their own for the ended sessions whose
     * clients wait for their logout tokens */
    char *pending_slots;
    uint64_t pending_slot_count;
    ClientCounter *client_counters; /* client_counter_count of them */
    uint64_t client_counter_count;
    uint32_t notify;  /* expiry and eviction notify the clients */
    uint32_t cluster; /* the zone is this node's cache of Redis's sessions */
    /* what changes write (through the journal), up to secret */
    SessionNode *lru_newest;
    SessionNode *lru_oldest;
    uint64_t free_count;
    FreeSlot *free_slots;
    /* the outbox: pending sessions, oldest end first out */
    SessionNode *outbox_newest;
    SessionNode *outbox_oldest;
    uint64_t pending_free_count;
    FreeSlot *pending_free;
    uint64_t sweep_cursor; /* the next bucket of the sid index to sweep */
    uint64_t stream_ms;    /* the last entry of Redis's stream of ends read */
    uint64_t stream_seq;
    uint64_t memo_logged;    /* memo changes ever logged (the ring's head) */
    uint64_t memo_published; /* ... of them published to the other nodes */
    ol_store_stats stats;
    uint8_t secret[32]; /* keys the anti-CSRF tokens; never changes */
    /* counted with atomic adds, outside the journal: a count lost to a
     * crash matters less than a lock taken for it */
    uint64_t logouts[2][OL_LOGOUT_OUTCOMES];
    uint64_t hints[OL_HINT_RESULTS];
    uint64_t upstream[OL_UPSTREAM_RESULTS];
    /* cluster mode: flags swapped atomically, and this zone's name in
     * Redis (random, made with the zone) */
    uint32_t cluster_down;  /* Redis unreachable */
    uint32_t cluster_stale; /* ends may have been missed: check the cache */
    uint8_t node[8];
    uint32_t journal_length;
    uint32_t changes; /* cluster mode: live sessions changed, ever: each
                       * change's number (its due) is never seen again */
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

    void configure(uint32_t idle, uint32_t lifetime, bool notify);
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
    /* Ends the session of handle_text for cause.  Its clients wait in the
     * outbox for their logout tokens; with claimed, the caller takes them
     * at once (claimed->ref stays 0 when none wait) and holds them for
     * lease seconds. */
    ol_status end(std::string_view handle_text, uint32_t now,
                  ol_session_info *info, ol_end_cause cause = OL_END_LOGOUT,
                  Claim *claimed = nullptr, uint32_t lease = 0);
    ol_status end_by_sid(std::string_view sid_text, ol_end_cause cause,
                         uint32_t now, ol_session_info *info);
    /* Ends every live session of sub (with psid: those of sub that hold
     * it) for cause; how many. */
    size_t end_by_sub(std::string_view sub, std::string_view psid,
                      ol_end_cause cause, uint32_t now);
    /* Ends every live session that holds psid, looking at all of them. */
    size_t end_by_provider_sid(std::string_view psid, ol_end_cause cause,
                               uint32_t now);
    /* Ends the expired sessions the sweep reaches this time: the least
     * recently used ones, and those of buckets of the sid index from
     * where the last sweep stopped; how many. */
    unsigned sweep(uint32_t now, unsigned buckets);

    /* The outbox.  Takes up to max pending sessions that are due and not
     * held (each then held for lease seconds); those that ended give_up
     * seconds ago or more (0: never) are given up. */
    void claim(uint32_t now, uint32_t lease, uint32_t give_up, size_t max,
               std::vector<Pending> &out);
    /* The clients of done of claim (taken with sid) are through.  When
     * the round is over, the others are tried again from retry_at; before,
     * the claim follows the session to its new slots (claim.ref becomes 0
     * when no client is left).  Nothing changes when another worker holds
     * it meanwhile (the claim ran out): its round goes on. */
    void settle(Claim &claim, std::string_view sid_text,
                const std::vector<std::string> &done, uint32_t retry_at,
                bool round_over = true);
    /* What waits: each client with how many deliveries, and the oldest
     * end among them. */
    struct PendingClient {
        std::string client;
        uint64_t count = 0;
        uint32_t oldest = 0;
        uint32_t next_due = 0;
    };
    std::vector<PendingClient> pending_clients();

    /* Whether value (of kind label) is new: it is then remembered until
     * expires.  A replayed one is refused. */
    bool remember_once(std::string_view label, std::string_view value,
                       uint32_t expires, uint32_t now);

    void stats(ol_store_stats &out);
    void count_delivery(ol_delivery_outcome outcome);
    /* Counters of the metrics, outside the journal (atomic adds). */
    void count_sent(std::string_view client, ol_sent_outcome outcome);
    /* sent[OL_SENT_OUTCOMES], and the deliveries waiting for client. */
    void client_sent(std::string_view client, uint64_t *sent,
                     uint64_t *pending) const;
    void count_logout(int mode_index, ol_logout_outcome outcome);
    void count_hint(ol_hint_result result);
    void count_upstream(ol_upstream_result result);
    void counters(uint64_t (&logouts)[2][OL_LOGOUT_OUTCOMES],
                  uint64_t (&hints)[OL_HINT_RESULTS],
                  uint64_t (&upstream)[OL_UPSTREAM_RESULTS]) const;
    /* ---- cluster mode (session_cluster.cpp): the zone caches the
     * sessions Redis holds ---- */
    struct ClusterSession {
        std::string handle, sid, sub;
        std::string record; /* the value Redis keeps */
        std::vector<std::string> provider_sids;
        uint32_t changed = 0;  /* nonzero: to be written (see written()) */
        uint32_t deadline = 0; /* when it expires, 0: never */
        uint32_t lifetime_end = 0;
    };
    /* Whether the session of handle_text is live in the zone. */
    bool knows(std::string_view handle_text, uint32_t now);
    /* Whether the session of handle_text ended lately (here, or heard). */
    bool handle_ended(std::string_view handle_text, uint32_t now);
    /* n ends: its sid and its cookie are remembered as ended for a while */
    void remember_ended(const SessionNode *n, uint32_t now);
    /* The sessions used since since, newest first, at most max: with
     * changed_only, those changed since they were written; otherwise also
     * those whose deadline moved by idle/16 or more since it was written
     * (it counts as written from now).  With only_handle: that session
     * alone, when it is live at since and changed. */
    void changes(uint32_t since, bool changed_only, size_t max,
                 std::vector<ClusterSession> &out,
                 const uint8_t *only_handle = nullptr);
    /* Redis took the write of sid as it was at changed (dropped when the
     * stream said meanwhile that it ended). */
    void written(std::string_view sid_text, uint32_t changed, uint32_t now);
    /* A session as Redis holds it (record) becomes live in the zone;
     * OL_DENIED when it ended here, OL_INVALID for a bad record. */
    ol_status import(std::string_view record, uint32_t now);
    /* Another node ended sid: it leaves the zone without notifying
     * (unless changed here and not yet written: see put_script). */
    bool forget(std::string_view sid_text, uint32_t now);
    /* Cluster mode, Redis not asked: the session of the cookie
     * handle_text, unknown here, is to end once Redis is back. */
    void end_unknown(std::string_view handle_text, uint32_t now);
    /* Those cookies (at most max), and Redis heard of one of them. */
    void unpublished_handles(size_t max, std::vector<std::string> &out);
    void handle_published(std::string_view handle_text);
    /* The ends made here that Redis has not heard of: sid and cause. */
    void unpublished(size_t max,
                     std::vector<std::pair<std::string, ol_end_cause>> &out);
    /* Redis heard of the end of sid: this node notifies (won), with the
     * clients record (may be empty) knows besides; or another node does.
     * Whether the end was still waiting for that word. */
    bool published(std::string_view sid_text, bool won, std::string_view record,
                   uint32_t now);
    /* Redis ended a session (expiry) for this node to notify. */
    ol_status enqueue(std::string_view record, ol_end_cause cause,
                      uint32_t now);
    /* The sids of the zone's live sessions, bucket by bucket from cursor
     * on; whether the walk is over. */
    bool cached(uint64_t &cursor, size_t max, std::vector<std::string> &out);
    /* The memo changes logged since the last published, at most max, and
     * the count up to which they go (pass it to memos_published). */
    uint64_t memo_changes(size_t max, std::vector<MemoChange> &out);
    void memos_published(uint64_t upto);
    /* A memo change of another node, applied here. */
    void apply_memo(const MemoChange &change, uint32_t now);
    /* After configure(): the zone becomes a cache of Redis's sessions. */
    void enable_cluster();
    bool cluster_flag(uint32_t StoreRoot::*flag, int value);
    void stream_position(uint64_t &ms, uint64_t &seq);
    void set_stream_position(uint64_t ms, uint64_t seq);
    std::string node_name() const;
    void set_secret(const uint8_t *secret, size_t len);
    bool secret_is(const uint8_t *secret, size_t len) const;

    /* The anti-CSRF token bound to the session of handle_text (its value
     * does not depend on whether the session lives). */
    std::string csrf_token(std::string_view handle_text) const;
    /* Walks every index, the LRU list and the free slots; a description of
     * the first inconsistency, or nullptr. */
    const char *verify();

  private:
    /* The sid fields (at most max, base64url) and causes of the outbox's
     * sessions whose cause bits under mask are want, oldest first. */
    void outbox_ids(size_t max, uint8_t mask, uint8_t want,
                    std::vector<std::pair<std::string, uint8_t>> &out);
    class Locked;

    /* The journal: set() records, then stores; commit() publishes. */
    template <typename T> void set(T &field, T value);
    void set_bytes(uint8_t *field, const uint8_t *value, size_t len);
    void record(void *address, size_t size);
    void commit();
    /* Writes back the old values the journal holds, newest first; why it
     * cannot, or nullptr.  commit() then empties it. */
    const char *undo();
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
    /* Ends n for cause: unless no client is to be told, a copy of it
     * waits in the outbox (returned). */
    SessionNode *retire(SessionNode *n, ol_end_cause cause, uint32_t now);
    /* retire() but for the removal: counts the end, copies n to the
     * outbox when its clients are to be told. */
    SessionNode *tell(const SessionNode *n, ol_end_cause cause, uint32_t now);
    void count_end(ol_end_cause cause);
    /* Ends n for cause, a step of its own, when it is live and holds the
     * provider sid psid (any, when empty); whether it did. */
    bool end_holding(SessionNode *n, std::string_view psid, ol_end_cause cause,
                     uint32_t now);
    /* The pending area: a copy of a session's data into fresh pending
     * slots, linked into the outbox after `after` (nullptr: the newest
     * end); the oldest pending sessions other than keep are dropped for
     * room.  nullptr when even that cannot make room. */
    SessionNode *pending_put(const SessionNode *from, std::string_view data,
                             unsigned clients, const SessionNode *keep,
                             SessionNode *after);
    /* Takes p out of the outbox and frees its slots. */
    void unqueue(SessionNode *p);
    /* The waiting deliveries of p's clients, counted up or down. */
    void count_waiting(const SessionNode *p, bool up);
    /* The gauges counted again from the outbox: after a step is undone,
     * which they are outside of. */
    void recount_waiting();
    /* unqueue(), its deliveries counted as why (dropped, given up). */
    void drop(SessionNode *p, ol_sent_outcome why);
    bool is_pending_slot(const void *p) const;
    uint64_t ref_of(const SessionNode *p) const;
    /* The pending session of ref, when it is still the one of sid. */
    SessionNode *pending_at(uint64_t ref, const uint8_t *sid) const;
    /* Takes count slots from a free list (linked through their first
     * word). */
    FreeSlot *take_free(FreeSlot *&list, uint64_t &free_count, size_t count);
    ClientCounter *client_counter(std::string_view client,
                                  bool add = true) const;
    void touch(SessionNode *n, uint32_t now);
    /* cluster mode: n changed, to be written to Redis */
    void mark_changed(SessionNode *n);
    /* when n expires, 0: never */
    uint32_t deadline_of(const SessionNode *n) const;
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
    /* cluster mode: entry of table (codes, revoked, jtis) for the other
     * nodes */
    void memo_log(const MemoEntry *table, const MemoEntry &entry);
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
