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
#pragma once

#include <cstring>
#include <exception>
#include <new>
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

// Calls a PostgreSQL function that may ERROR, turning the ERROR into a
// PgException (keeping SQLSTATE, message, detail, hint).
template <typename Fn, typename... Args>
inline auto PgCall(Fn fn, Args... args) -> decltype(fn(args...)) {
  using R = decltype(fn(args...));
  MemoryContext ctx = CurrentMemoryContext;
  bool failed = false;
  CaughtError err;
  if constexpr (std::is_void_v<R>) {
    PG_TRY();
    { fn(args...); }
    PG_CATCH();
    {
      failed = true;
      MemoryContextSwitchTo(ctx);
      ErrorData* ed = CopyErrorData();
      FlushErrorState();
      err.sqlstate = ed->sqlerrcode;
      std::strncpy(err.msg, ed->message ? ed->message : "", sizeof(err.msg) - 1);
      err.msg[sizeof(err.msg) - 1] = '\0';
      std::strncpy(err.detail, ed->detail ? ed->detail : "", sizeof(err.detail) - 1);
      err.detail[sizeof(err.detail) - 1] = '\0';
      std::strncpy(err.hint, ed->hint ? ed->hint : "", sizeof(err.hint) - 1);
      err.hint[sizeof(err.hint) - 1] = '\0';
      FreeErrorData(ed);
    }
    PG_END_TRY();
    if (failed) throw PgException(err.sqlstate, err.msg, err.detail, err.hint);
  } else {
    R result{};
    PG_TRY();
    { result = fn(args...); }
    PG_CATCH();
    {
      failed = true;
      MemoryContextSwitchTo(ctx);
      ErrorData* ed = CopyErrorData();
      FlushErrorState();
      err.sqlstate = ed->sqlerrcode;
      std::strncpy(err.msg, ed->message ? ed->message : "", sizeof(err.msg) - 1);
      err.msg[sizeof(err.msg) - 1] = '\0';
      std::strncpy(err.detail, ed->detail ? ed->detail : "", sizeof(err.detail) - 1);
      err.detail[sizeof(err.detail) - 1] = '\0';
      std::strncpy(err.hint, ed->hint ? ed->hint : "", sizeof(err.hint) - 1);
      err.hint[sizeof(err.hint) - 1] = '\0';
      FreeErrorData(ed);
    }
    PG_END_TRY();
    if (failed) throw PgException(err.sqlstate, err.msg, err.detail, err.hint);
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
