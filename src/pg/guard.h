// Error handling across the PostgreSQL / C++ boundary.
//
// PostgreSQL reports errors with longjmp; C++ with exceptions. Neither may
// cross the other's frames:
//
//  * Every entry from PostgreSQL into C++ (SQL functions, AM callbacks, hooks,
//    the worker's main) runs its body through vecgo::pg::Guard. A C++
//    exception escaping the body is caught there, its message, SQLSTATE,
//    detail and hint copied into plain storage, and re-raised with ereport
//    only after every C++ frame of the body has unwound.
//
//  * Every call from C++ into PostgreSQL that can ERROR while C++ objects with
//    destructors are alive goes through vecgo::pg::PgCall, which catches the
//    longjmp with PG_TRY and turns it into a vecgo::pg::PgException carrying
//    the original error data. The guard re-raises it unchanged.
//
// Code that holds no object with a non-trivial destructor may call PostgreSQL
// (and ereport) directly: a longjmp over such frames is harmless.
//
// Guarded entries: _PG_init; every SQL function (VECGO_FUNCTION); the AM
// callbacks ambuild, ambuildempty, aminsert, ambulkdelete, amvacuumcleanup,
// ambeginscan, amrescan, amgettuple, amendscan, amoptions, amcostestimate;
// the parallel graph-build worker's main; the table AM's build callback
// wraps its one C++ call (WriteSegment).
// Exempt, because their bodies are plain C that cannot throw: the AM handler
// (fills a node), amvalidate (returns true), ambuildphasename (a switch), the
// WAL resource manager's redo/desc/identify (am_wal.cpp: they hold no C++
// object and call only PostgreSQL), and the GUC definitions.
#pragma once

#include <cstring>
#include <exception>
#include <new>
#include <type_traits>
#include <utility>

#include "vecgo/core.h"
#include "pg.h"

namespace vecgo::pg {

// A PostgreSQL error turned into a C++ exception (by PgCall), or an error the
// glue raises itself with a chosen SQLSTATE (by Raise).
class PgException : public std::exception {
 public:
  PgException(int sqlstate, const char* msg, const char* detail = nullptr,
              const char* hint = nullptr)
      : sqlstate_(sqlstate) {
    Copy(msg_, msg);
    Copy(detail_, detail);
    Copy(hint_, hint);
  }
  const char* what() const noexcept override { return msg_; }
  int sqlstate() const noexcept { return sqlstate_; }
  const char* detail() const noexcept { return detail_[0] ? detail_ : nullptr; }
  const char* hint() const noexcept { return hint_[0] ? hint_ : nullptr; }

 private:
  template <std::size_t N>
  static void Copy(char (&dst)[N], const char* src) {
    if (src == nullptr) {
      dst[0] = '\0';
      return;
    }
    std::size_t len = std::strlen(src);
    if (len > N - 1) len = N - 1;
    std::memcpy(dst, src, len);
    dst[len] = '\0';
  }
  int sqlstate_;
  char msg_[1024];
  char detail_[1024];
  char hint_[512];
};

// Throws a PgException with a printf-style message.
[[noreturn]] void Raise(int sqlstate, const char* fmt, ...) pg_attribute_printf(2, 3);
[[noreturn]] void RaiseWithHint(int sqlstate, const char* hint, const char* fmt, ...)
    pg_attribute_printf(3, 4);

// What an escaping exception becomes. Plain storage: safe across longjmp.
struct CaughtError {
  int sqlstate;
  char msg[1024];
  char detail[1024];
  char hint[512];
};

// Fills `out` from the exception currently being handled (call inside catch).
void CaptureCurrentException(CaughtError* out) noexcept;

// Raises the captured error with ereport(ERROR). Never returns.
[[noreturn]] void ReraiseCaught(const CaughtError& err);

// Runs `body` and converts any C++ exception into a PostgreSQL ERROR after the
// body's frames are gone. Use at every entry point from PostgreSQL.
template <typename Body>
inline auto Guard(Body&& body) -> decltype(body()) {
  CaughtError err;
  try {
    return body();
  } catch (...) {
    CaptureCurrentException(&err);
  }
  ReraiseCaught(err);
}

// Copies the error being handled in a PG_CATCH block into `out` and clears
// PostgreSQL's error state (switching back to `ctx` first).
void TakeCurrentPgError(MemoryContext ctx, CaughtError* out);

// Runs `call` under PG_TRY. Returns true when PostgreSQL raised an ERROR, with
// the error copied into `err`. Kept out of line of the caller's objects: only
// plain locals live across the setjmp.
//
// A C++ exception from `call` (a PostgreSQL function that calls back into
// C++, such as a hook or a callback of ours) must not leave through PG_TRY:
// it would skip PG_END_TRY, leaving PG_exception_stack and
// error_context_stack pointing into this dead frame, and the next ERROR would
// longjmp there. It is caught inside the block, kept in `*thrown` (storage
// of the caller, so nothing of it lives in this frame's registers across the
// setjmp) and rethrown by the caller once PG_END_TRY has run.
template <typename Call>
inline bool TryPg(Call& call, CaughtError* err, std::exception_ptr* thrown) {
  MemoryContext ctx = CurrentMemoryContext;
  volatile bool failed = false;
  PG_TRY();
  {
    try {
      call();
    } catch (...) {
      *thrown = std::current_exception();
    }
  }
  PG_CATCH();
  {
    TakeCurrentPgError(ctx, err);
    failed = true;
  }
  PG_END_TRY();
  return failed;
}

// Calls a PostgreSQL function that may ERROR, turning the ERROR into a
// PgException (keeping SQLSTATE, message, detail, hint).
// A C++ exception thrown inside the call comes out unchanged, after the
// PG_TRY frame is closed.
template <typename Fn, typename... Args>
inline auto PgCall(Fn fn, Args... args) -> decltype(fn(args...)) {
  using R = decltype(fn(args...));
  CaughtError err;
  std::exception_ptr thrown;
  if constexpr (std::is_void_v<R>) {
    auto call = [&]() { fn(args...); };
    if (TryPg(call, &err, &thrown)) throw PgException(err.sqlstate, err.msg, err.detail, err.hint);
    if (thrown) std::rethrow_exception(thrown);
  } else {
    R result{};
    R* out = &result;  // written through memory, so a longjmp cannot clobber it
    auto call = [&]() { *out = fn(args...); };
    if (TryPg(call, &err, &thrown)) throw PgException(err.sqlstate, err.msg, err.detail, err.hint);
    if (thrown) std::rethrow_exception(thrown);
    return result;
  }
}

}  // namespace vecgo::pg

// Defines a V1 SQL-callable function whose body runs under the guard:
//   VECGO_FUNCTION(vector_in) { ... return PointerGetDatum(v); }
// The symbol is exported explicitly: the library is built with hidden
// visibility and PostgreSQL 15's PG_FUNCTION_INFO_V1 does not mark it.
#define VECGO_FUNCTION(name)                                          \
  static Datum name##_impl(FunctionCallInfo fcinfo);                  \
  extern "C" PGDLLEXPORT Datum name(PG_FUNCTION_ARGS);                \
  extern "C" {                                                        \
  PG_FUNCTION_INFO_V1(name);                                          \
  Datum name(PG_FUNCTION_ARGS) {                                      \
    return vecgo::pg::Guard([&]() -> Datum { return name##_impl(fcinfo); }); \
  }                                                                   \
  }                                                                   \
  static Datum name##_impl(FunctionCallInfo fcinfo)
