/*
 * err.h: the one error table of hsm-audit-forwarder.
 *
 * Every fallible function returns an enum haf_err and is marked HAF_MUST_USE, so the compiler
 * refuses a silently ignored failure. Low-level modules (parser, formatter, batcher, signer) never
 * log: they return a code and the caller, which knows the context, decides what to say.
 */
#ifndef HAF_ERR_H
#define HAF_ERR_H

#define HAF_MUST_USE __attribute__((warn_unused_result))

#define HAF_ERR_TABLE(X)                                                                           \
    X(HAF_OK, "success")                                                                           \
    X(HAF_ENOMEM, "out of memory")                                                                 \
    X(HAF_ETOOLONG, "input exceeds limit")                                                         \
    X(HAF_EPARSE, "malformed input")                                                               \
    X(HAF_EIO, "I/O error")                                                                        \
    X(HAF_ECONFIG, "invalid configuration")                                                        \
    X(HAF_ECRYPTO, "libcrypto failure")                                                            \
    X(HAF_EHTTP, "HTTP transport failure")                                                         \
    X(HAF_ECREDS, "no usable credentials")                                                         \
    X(HAF_EPERM, "unsafe ownership or permissions")                                                \
    X(HAF_ENOTFOUND, "not found")                                                                  \
    X(HAF_EINVAL, "invalid argument")                                                              \
    X(HAF_EAGAIN, "try again later")                                                               \
    X(HAF_EREJECTED, "request rejected by the service")

#define HAF_ERR_ENUM_(name, str) name,
enum haf_err { HAF_ERR_TABLE(HAF_ERR_ENUM_) HAF_ERR_MAX_ };
#undef HAF_ERR_ENUM_

/* A static string for every code; never NULL, also for out-of-range values. */
const char *haf_err_str(enum haf_err e);

#endif
