/*
 * icuuc_stub.c: a stand-in for Windows' system icuuc.dll, for the Wine test prefix only.
 *
 * Built by tools/windows_exe_under_wine.sh with mingw-w64 into the prefix's system32:
 *     x86_64-w64-mingw32-gcc -shared -O2 -s -o icuuc.dll icuuc_stub.c
 *
 * Qt 6 for Windows (Qt6Core.dll) imports the ucnv_* converter functions from the ICU that
 * Windows 10 (1703 and later) ships as system32\icuuc.dll. Wine 8.0 has no icuuc.dll, so
 * Qt6Core.dll, and with it every PySide6 import, fails to load. This DLL exports the same
 * names but offers no converter at all: ucnv_open fails and ucnv_countAvailable is 0, so
 * QStringConverter keeps to the codecs built into Qt (UTF-8/16/32, Latin-1 and the system
 * code page), which are all AutoHedge uses.
 *
 * It is never part of AutoHedge.exe: PyInstaller does not bundle system32 DLLs, and on
 * real Windows Qt finds the real ICU. The script checks that every icuuc.dll function the
 * installed Qt6Core.dll imports is exported here, and stops with one sentence if not.
 *
 * Signatures follow ICU's unicode/ucnv.h and ucnv_cb.h; what matters for the Microsoft x64
 * calling convention is where the UErrorCode* is, so that a failure is reported to Qt.
 */
#include <stddef.h>
#include <stdint.h>

typedef int32_t UErrorCode;     /* ICU: <= 0 means no error so far */
typedef uint16_t UChar;
typedef int32_t UChar32;
typedef int8_t UBool;
typedef struct UConverter UConverter;
typedef void (*ToUCallback)(void);
typedef void (*FromUCallback)(void);

enum { U_FILE_ACCESS_ERROR = 4, U_UNSUPPORTED_ERROR = 16 };

#define EXPORT __declspec(dllexport)

/* ICU's rule: a function does nothing if *err already holds an error, and sets one when it fails. */
static void fail(UErrorCode *err, UErrorCode code)
{
    if (err != NULL && *err <= 0)
        *err = code;
}

/* --- opening and closing: there is never a converter to open ------------------------------ */

EXPORT UConverter *ucnv_open(const char *name, UErrorCode *err)
{
    (void)name;
    fail(err, U_FILE_ACCESS_ERROR);     /* what ICU says for an unknown converter name */
    return NULL;
}

EXPORT void ucnv_close(UConverter *cnv) { (void)cnv; }
EXPORT void ucnv_reset(UConverter *cnv) { (void)cnv; }

/* --- the list of converters is empty -------------------------------------------------------- */

EXPORT int32_t ucnv_countAvailable(void) { return 0; }
EXPORT const char *ucnv_getAvailableName(int32_t n) { (void)n; return NULL; }

EXPORT const char *ucnv_getStandardName(const char *name, const char *standard, UErrorCode *err)
{
    (void)name; (void)standard;
    fail(err, U_UNSUPPORTED_ERROR);
    return NULL;
}

/* --- per-converter queries and conversions (unreachable without a converter; safe anyway) -- */

EXPORT const char *ucnv_getName(const UConverter *cnv, UErrorCode *err)
{
    (void)cnv;
    fail(err, U_UNSUPPORTED_ERROR);
    return NULL;
}

EXPORT int8_t ucnv_getMaxCharSize(const UConverter *cnv) { (void)cnv; return 1; }

EXPORT void ucnv_toUnicode(UConverter *cnv, UChar **target, const UChar *target_limit,
                           const char **source, const char *source_limit, int32_t *offsets,
                           UBool flush, UErrorCode *err)
{
    (void)cnv; (void)target; (void)target_limit; (void)source; (void)source_limit;
    (void)offsets; (void)flush;
    fail(err, U_UNSUPPORTED_ERROR);
}

EXPORT void ucnv_fromUnicode(UConverter *cnv, char **target, const char *target_limit,
                             const UChar **source, const UChar *source_limit, int32_t *offsets,
                             UBool flush, UErrorCode *err)
{
    (void)cnv; (void)target; (void)target_limit; (void)source; (void)source_limit;
    (void)offsets; (void)flush;
    fail(err, U_UNSUPPORTED_ERROR);
}

EXPORT int32_t ucnv_toUCountPending(const UConverter *cnv, UErrorCode *err)
{
    (void)cnv;
    fail(err, U_UNSUPPORTED_ERROR);
    return 0;
}

EXPORT int32_t ucnv_fromUCountPending(const UConverter *cnv, UErrorCode *err)
{
    (void)cnv;
    fail(err, U_UNSUPPORTED_ERROR);
    return 0;
}

/* --- callbacks ------------------------------------------------------------------------------ */

EXPORT void ucnv_getToUCallBack(const UConverter *cnv, ToUCallback *action, const void **context)
{
    (void)cnv;
    if (action != NULL) *action = NULL;
    if (context != NULL) *context = NULL;
}

EXPORT void ucnv_getFromUCallBack(const UConverter *cnv, FromUCallback *action, const void **context)
{
    (void)cnv;
    if (action != NULL) *action = NULL;
    if (context != NULL) *context = NULL;
}

EXPORT void ucnv_setToUCallBack(UConverter *cnv, ToUCallback action, const void *context,
                                ToUCallback *old_action, const void **old_context, UErrorCode *err)
{
    (void)cnv; (void)action; (void)context;
    ucnv_getToUCallBack(NULL, old_action, old_context);
    fail(err, U_UNSUPPORTED_ERROR);
}

EXPORT void ucnv_setFromUCallBack(UConverter *cnv, FromUCallback action, const void *context,
                                  FromUCallback *old_action, const void **old_context, UErrorCode *err)
{
    (void)cnv; (void)action; (void)context;
    ucnv_getFromUCallBack(NULL, old_action, old_context);
    fail(err, U_UNSUPPORTED_ERROR);
}

EXPORT void ucnv_cbToUWriteUChars(void *args, const UChar *source, int32_t length,
                                  int32_t offset_index, UErrorCode *err)
{
    (void)args; (void)source; (void)length; (void)offset_index;
    fail(err, U_UNSUPPORTED_ERROR);
}

EXPORT void ucnv_cbFromUWriteUChars(void *args, const UChar **source, const UChar *source_limit,
                                    int32_t offset_index, UErrorCode *err)
{
    (void)args; (void)source; (void)source_limit; (void)offset_index;
    fail(err, U_UNSUPPORTED_ERROR);
}

EXPORT void UCNV_FROM_U_CALLBACK_SUBSTITUTE(const void *context, void *args, const UChar *units,
                                            int32_t length, UChar32 code_point, int reason,
                                            UErrorCode *err)
{
    (void)context; (void)args; (void)units; (void)length; (void)code_point; (void)reason;
    fail(err, U_UNSUPPORTED_ERROR);
}

EXPORT void UCNV_TO_U_CALLBACK_SUBSTITUTE(const void *context, void *args, const char *units,
                                          int32_t length, int reason, UErrorCode *err)
{
    (void)context; (void)args; (void)units; (void)length; (void)reason;
    fail(err, U_UNSUPPORTED_ERROR);
}
