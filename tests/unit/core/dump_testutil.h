/*
 * dump_testutil.h - test helper: is the memory at an address left out of core dumps?
 *
 * Reads /proc/self/smaps (proc(5)): the mapping holding the address, and whether its VmFlags
 * line has "dd" ("do not include area into core dump", set by madvise MADV_DONTDUMP).
 */
#ifndef ATT_TEST_DUMP_TESTUTIL_H
#define ATT_TEST_DUMP_TESTUTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* 1: the mapping holding `p` is marked "dd"; 0: it is not; -1: no mapping holds `p`. */
static inline int tu_excluded_from_dumps(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[512];
    bool inside = false;
    int found = -1;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        unsigned long lo = 0;
        unsigned long hi = 0;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            inside = a >= lo && a < hi;
        } else if (inside && strncmp(line, "VmFlags:", 8) == 0) {
            found = strstr(line, " dd") != NULL ? 1 : 0;
            break;
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return found;
}

#endif
