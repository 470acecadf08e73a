/*
 * sdk.h - common definitions of the msgsec provider SDK (libmsgsec-sdk).
 * Providers link libmsgsec-sdk for the 3GPP KDF, AKMA key derivations, the
 * TLS-PSK engine and the HTTP/JSON client. Functions return 0 or a
 * negative MSGSEC_ERR_* code from <msgsec/msgsec.h>.
 */
#ifndef MSGSEC_SDK_H
#define MSGSEC_SDK_H

#include <msgsec/msgsec.h>

#if defined(MSGSEC_SDK_BUILDING) && defined(__GNUC__)
#define MSGSEC_SDK_EXPORT __attribute__((visibility("default")))
#else
#define MSGSEC_SDK_EXPORT
#endif

#endif /* MSGSEC_SDK_H */
