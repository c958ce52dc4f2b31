/*
 * opcodes.h: the catalogue of CloudHSM audit-log opcodes, current and historical, each with its
 * documented code (when AWS ever printed one), its description and a category.
 *
 * One table, in src/opcodes.c, holds every opcode the AWS CloudHSM "Audit log reference" has ever
 * listed (the live page and its 2018-2023 history), plus names seen only in AWS example entries or
 * prose. Sources and the reasoning behind each category are in docs/audit-format.md. The table is
 * data for consumers (the JSON formatter adds opcode.category; alarms and reports group by it); it
 * never decides whether an entry is valid: an opcode we do not know passes through with category
 * OPCODE_CAT_UNKNOWN.
 *
 * Lookups are on the parse hot path (once per formatted entry): opcode_by_code is a direct index
 * for codes below 256 (every documented code is), opcode_by_name a binary search over the
 * name-sorted table, and opcode_classify (code first, confirmed by name; then name) costs one
 * index load and one short memcmp for every opcode with a documented code.
 */
#ifndef HAF_OPCODES_H
#define HAF_OPCODES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "haf/span.h"

enum opcode_category {
    OPCODE_CAT_UNKNOWN = 0,
    OPCODE_CAT_LOGIN_LOGOUT,
    OPCODE_CAT_USER_MANAGEMENT,
    OPCODE_CAT_PASSWORD_CHANGE,
    OPCODE_CAT_KEY_GENERATION,
    OPCODE_CAT_KEY_DELETION,
    OPCODE_CAT_KEY_EXPORT, /* export / wrap */
    OPCODE_CAT_KEY_IMPORT, /* import / unwrap */
    OPCODE_CAT_KEY_SHARING,
    OPCODE_CAT_CLUSTER_SYNC,
    OPCODE_CAT_QUORUM_TOKEN,
    OPCODE_CAT_BACKUP_RESTORE,
    OPCODE_CAT_INIT_CRITICAL, /* initialisation and other critical HSM-instance commands */
    OPCODE_CAT_CERT_AUTH,     /* certificate-based authentication (certificate authority) */
    OPCODE_CAT_TIME,          /* time synchronisation (TIME_INFO entries) */
    OPCODE_CAT_OTHER,
    OPCODE_CAT_MAX_
};

/* No documented code. */
#define OPCODE_CODE_NONE UINT32_MAX

/* Bits of struct opcode_info.flags. */
enum opcode_flag {
    OPCODE_F_CURRENT = 1u << 0,    /* listed in the live "Audit log reference" table */
    OPCODE_F_HISTORICAL = 1u << 1, /* listed once, removed since (kept so old logs classify) */
    OPCODE_F_EXAMPLE = 1u << 2,    /* seen only in an AWS example entry or in prose */
};

struct opcode_info {
    const char *name; /* "CN_LOGIN" */
    uint32_t code;    /* 0xd, or OPCODE_CODE_NONE */
    enum opcode_category category;
    uint32_t flags;          /* enum opcode_flag bits */
    const char *description; /* the live description, else the last documented one */
};

/* The whole table, sorted by name (strcmp order); *n receives its length. */
const struct opcode_info *opcode_table(size_t *n);

/* The opcode with this documented code, or NULL. */
const struct opcode_info *opcode_by_code(uint64_t code);

/* The opcode with exactly this name (case-sensitive), or NULL. */
const struct opcode_info *opcode_by_name(struct span name);

/*
 * The catalogue entry for an entry's "Opcode : NAME (0xCODE)". The code is tried first and kept
 * only when its name agrees (the printed name is the authority: AWS's codes come from examples);
 * otherwise the name alone decides. NULL when the opcode is not in the catalogue.
 */
const struct opcode_info *opcode_classify(struct span name, uint64_t code);

/*
 * The category for an audit entry: its opcode's, when the catalogue knows it; otherwise
 * OPCODE_CAT_TIME for a time-synchronisation entry (command type TIME_INFO_CMD 0xeee2 or log type
 * TIME_INFO_LOG 16), else OPCODE_CAT_UNKNOWN. has_* say which of the fields the entry has.
 */
enum opcode_category opcode_entry_category(bool has_opcode, struct span name, uint64_t code,
                                           bool has_command_type, uint64_t command_type,
                                           bool has_log_type, uint64_t log_type);

/* "login_logout", "key_export", ... ("unknown" for anything out of range). Static strings. */
const char *opcode_category_name(enum opcode_category c);

/* The command type and log type of CloudHSM's time-synchronisation entries. */
#define AUDIT_COMMAND_TYPE_TIME_INFO 0xeee2u
#define AUDIT_LOG_TYPE_TIME_INFO     16u

#endif
