/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Per-connection cache of callers; see caller-cache.h. */
#include "caller-cache.h"
#include "log.h"

#define CACHE_SIZE 128

typedef struct Entry {
        char *sender;   /* unique name, NULL when unused */
        Caller caller;
        uint64_t used;  /* for least-recently-used eviction */
        bool gone;      /* no connection has this name any more */
} Entry;

struct CallerCache {
        sd_bus_slot *slot;
        Entry entries[CACHE_SIZE];
        uint64_t clock;
};

static void entry_clear(Entry *e) {
        free(e->sender);
        caller_done(&e->caller);
        *e = (Entry) {};
}

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        CallerCache *cc = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 || name[0] != ':' || !isempty(new_owner))
                return 0;
        for (size_t i = 0; i < CACHE_SIZE; i++)
                if (cc->entries[i].sender && streq(cc->entries[i].sender, name))
                        entry_clear(&cc->entries[i]);
        return 0;
}

int caller_cache_new(sd_bus *bus, CallerCache **ret) {
        _cleanup_(caller_cache_freep) CallerCache *cc = NULL;
        int r;

        cc = calloc(1, sizeof(*cc));
        if (!cc)
                return -ENOMEM;
        r = sd_bus_match_signal_async(bus, &cc->slot, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                      "org.freedesktop.DBus", "NameOwnerChanged", on_name_owner_changed, NULL, cc);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(cc);
        return 0;
}

CallerCache *caller_cache_free(CallerCache *cc) {
        if (!cc)
                return NULL;
        sd_bus_slot_unref(cc->slot);
        for (size_t i = 0; i < CACHE_SIZE; i++)
                entry_clear(&cc->entries[i]);
        free(cc);
        return NULL;
}

int caller_cache_get_name(CallerCache *cc, sd_bus *bus, const char *sender, const Caller **ret) {
        Entry *victim = &cc->entries[0];
        Caller c = {};
        int r;

        for (size_t i = 0; i < CACHE_SIZE; i++) {
                Entry *e = &cc->entries[i];

                if (sender && e->sender && streq(e->sender, sender)) {
                        e->used = ++cc->clock;
                        *ret = &e->caller;
                        return e->gone ? -ENXIO : 0;
                }
                if (victim->sender && (!e->sender || e->used < victim->used))
                        victim = e;
        }
        r = caller_from_name(bus, sender, &c);
        /* A unique name never returns within one bus instance: remember that it is gone, so that the receipts
         * of a publisher that left cost one round trip, not one each. */
        if (r < 0 && r != -ENXIO)
                return r;
        entry_clear(victim);
        victim->caller = c;
        victim->gone = r == -ENXIO;
        /* Without a sender name (or memory for it) the entry is simply not found again. */
        victim->sender = sender ? strdup(sender) : NULL;
        victim->used = ++cc->clock;
        *ret = &victim->caller;
        return r;
}

int caller_cache_get(CallerCache *cc, sd_bus_message *m, const Caller **ret) {
        return caller_cache_get_name(cc, sd_bus_message_get_bus(m), sd_bus_message_get_sender(m), ret);
}
