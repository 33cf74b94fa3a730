// Conversion of C++ exceptions into PostgreSQL errors; see guard.h.
#include <cstdarg>
#include <cstdio>

#include "guard.h"

namespace vecgo::pg {

namespace {
int SqlstateFor(vecgo::Error::Kind kind) {
  switch (kind) {
    case vecgo::Error::Kind::InvalidArgument: return ERRCODE_INVALID_PARAMETER_VALUE;
    case vecgo::Error::Kind::DataCorrupted: return ERRCODE_DATA_CORRUPTED;
    case vecgo::Error::Kind::OutOfMemory: return ERRCODE_OUT_OF_MEMORY;
    case vecgo::Error::Kind::FeatureNotSupported: return ERRCODE_FEATURE_NOT_SUPPORTED;
    case vecgo::Error::Kind::Internal: return ERRCODE_INTERNAL_ERROR;
  }
  return ERRCODE_INTERNAL_ERROR;
}

void SetText(char* dst, std::size_t n, const char* src) {
  std::strncpy(dst, src ? src : "", n - 1);
  dst[n - 1] = '\0';
}
}  // namespace

void Raise(int sqlstate, const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  throw PgException(sqlstate, buf);
}

void RaiseWithHint(int sqlstate, const char* hint, const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  throw PgException(sqlstate, buf, nullptr, hint);
}

void CaptureCurrentException(CaughtError* out) noexcept {
  out->detail[0] = '\0';
  out->hint[0] = '\0';
  try {
    throw;
  } catch (const PgException& e) {
    out->sqlstate = e.sqlstate();
    SetText(out->msg, sizeof(out->msg), e.what());
    SetText(out->detail, sizeof(out->detail), e.detail());
    SetText(out->hint, sizeof(out->hint), e.hint());
  } catch (const vecgo::Error& e) {
    out->sqlstate = SqlstateFor(e.kind());
    SetText(out->msg, sizeof(out->msg), e.what());
  } catch (const std::bad_alloc&) {
    out->sqlstate = ERRCODE_OUT_OF_MEMORY;
    SetText(out->msg, sizeof(out->msg), "out of memory");
  } catch (const std::exception& e) {
    out->sqlstate = ERRCODE_INTERNAL_ERROR;
    SetText(out->msg, sizeof(out->msg), e.what());
  } catch (...) {
    out->sqlstate = ERRCODE_INTERNAL_ERROR;
    SetText(out->msg, sizeof(out->msg), "unknown C++ exception");
  }
}

void TakeCurrentPgError(MemoryContext ctx, CaughtError* out) {
  MemoryContextSwitchTo(ctx);
  ErrorData* ed = CopyErrorData();
  FlushErrorState();
  out->sqlstate = ed->sqlerrcode;
  SetText(out->msg, sizeof(out->msg), ed->message);
  SetText(out->detail, sizeof(out->detail), ed->detail);
  SetText(out->hint, sizeof(out->hint), ed->hint);
  FreeErrorData(ed);
}

void ReraiseCaught(const CaughtError& err) {
  ereport(ERROR, (errcode(err.sqlstate), errmsg_internal("%s", err.msg),
                  err.detail[0] ? errdetail_internal("%s", err.detail) : 0,
                  err.hint[0] ? errhint("%s", err.hint) : 0));
  pg_unreachable();
}

}  // namespace vecgo::pg
