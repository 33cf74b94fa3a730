// The one place the glue includes PostgreSQL's headers.
//
// Core headers (include/vecgo/) must come before this one in every glue file:
// they refuse to compile after postgres.h. PostgreSQL's headers are C; they
// are included inside extern "C" and with the macros that collide with the
// C++ standard library removed afterwards.
#pragma once

// Core headers every glue file may use; they must come before postgres.h.
#include "vecgo/topk.h"

// The library is built with hidden visibility; PostgreSQL 15 leaves
// PGDLLEXPORT empty on ELF, so give it the meaning 16+ gives it.
#ifndef PGDLLEXPORT
#define PGDLLEXPORT __attribute__((visibility("default")))
#endif

extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/elog.h"
#include "utils/memutils.h"
}

// c.h defines these as macros; they break <algorithm> and friends.
#ifdef Min
#undef Min
#endif
#ifdef Max
#undef Max
#endif
#ifdef Abs
#undef Abs
#endif
