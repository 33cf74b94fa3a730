// Fuzz-style test of the vector, sparsevec and halfvec types' input
// functions, run as a libpq client.
//
// Feeds random and malformed text to vector_in, sparsevec_in and halfvec_in
// (SELECT $1::vector) and random and malformed byte strings to vector_recv,
// sparsevec_recv and halfvec_recv (a binary parameter of the type). Every
// case must either produce a value that round-trips exactly (text output
// reparses to the same bits; binary output equals the input) or fail with a
// clean ERROR whose SQLSTATE is in class 22 (data exception) or 54 (program
// limit exceeded: more dimensions or elements than the type allows). A lost
// connection, any other SQLSTATE, or a well-formed input that is rejected is
// a failure.
//
//   fuzz_io [--host H] [--port P] [--dbname D] [--user U] [--seed N]
//           [--text-cases N] [--binary-cases N] [--verbose]
//
// Connection settings default to libpq's (PGHOST, PGPORT, PGDATABASE, PGUSER).
// The seed is fixed (override with --seed or VECGO_FUZZ_SEED) so a failure
// can be replayed. Exit status: 0 when every case passed, 1 otherwise.
#include <libpq-fe.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

struct Options {
  const char* host = nullptr;
  const char* port = nullptr;
  const char* dbname = nullptr;
  const char* user = nullptr;
  std::uint64_t seed = 20240611;
  int text_cases = 3000;
  int binary_cases = 3000;
  bool verbose = false;
};

struct Stats {
  long cases = 0;
  long accepted = 0;
  long rejected = 0;
  long failures = 0;
};

constexpr Oid kTextOid = 25;

// What a case is expected to do.
enum class Expect { Value, Error, Either };

class Fuzzer {
 public:
  Fuzzer(PGconn* conn, std::uint64_t seed, bool verbose)
      : conn_(conn), rng_(seed), verbose_(verbose) {}

  // The type the cases feed: its name (also the prefix of its _send function)
  // and OID.
  void UseType(const std::string& name, Oid oid) {
    type_ = name;
    type_oid_ = oid;
  }

  Stats stats;

  bool Alive() const { return PQstatus(conn_) == CONNECTION_OK; }

  // ------------------------------------------------------------- text input

  void TextCase(const std::string& input, Expect expect) {
    stats.cases++;
    const char* values[1] = {input.c_str()};
    const std::string select = "SELECT $1::" + type_;
    PGresult* res = PQexecParams(conn_, select.c_str(), 1, nullptr, values, nullptr, nullptr, 0);
    if (!CheckResult(res, "text", input, expect)) return;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
      PQclear(res);
      return;
    }
    std::string out = PQgetvalue(res, 0, 0);
    PQclear(res);
    // The output must reparse to exactly the same bits, and print the same.
    const char* check_values[2] = {input.c_str(), out.c_str()};
    const Oid text_types[2] = {kTextOid, kTextOid};
    const std::string check = "SELECT " + type_ + "_send($1::" + type_ + ") = " + type_ +
                              "_send($2::" + type_ + "), $2::" + type_ + "::text = $2";
    PGresult* chk =
        PQexecParams(conn_, check.c_str(), 2, text_types, check_values, nullptr, nullptr, 0);
    if (PQresultStatus(chk) != PGRES_TUPLES_OK || std::strcmp(PQgetvalue(chk, 0, 0), "t") != 0 ||
        std::strcmp(PQgetvalue(chk, 0, 1), "t") != 0) {
      Fail("text", input, "value does not round-trip through its text output: " + out);
    }
    PQclear(chk);
  }

  // ----------------------------------------------------------- binary input

  void BinaryCase(const std::string& bytes, Expect expect) {
    stats.cases++;
    const char* values[1] = {bytes.data()};
    int lengths[1] = {static_cast<int>(bytes.size())};
    int formats[1] = {1};
    Oid types[1] = {type_oid_};
    // Results in binary: the text column comes back as its raw characters,
    // the _send function's bytea as raw bytes.
    const std::string select = "SELECT $1::text, " + type_ + "_send($1)";
    PGresult* res = PQexecParams(conn_, select.c_str(), 1, types, values, lengths, formats, 1);
    if (!CheckResult(res, "binary", Hex(bytes), expect)) return;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
      PQclear(res);
      return;
    }
    std::string text(PQgetvalue(res, 0, 0), PQgetlength(res, 0, 0));
    std::string sent(PQgetvalue(res, 0, 1), PQgetlength(res, 0, 1));
    PQclear(res);
    if (sent != bytes) {
      Fail("binary", Hex(bytes), "send output differs from the received bytes: " + Hex(sent));
      return;
    }
    const char* tv[1] = {text.c_str()};
    const Oid text_type[1] = {kTextOid};
    const std::string check = "SELECT " + type_ + "_send($1::" + type_ + ")";
    PGresult* chk = PQexecParams(conn_, check.c_str(), 1, text_type, tv, nullptr, nullptr, 1);
    if (PQresultStatus(chk) != PGRES_TUPLES_OK ||
        std::string(PQgetvalue(chk, 0, 0), PQgetlength(chk, 0, 0)) != bytes) {
      Fail("binary", Hex(bytes), "text output does not reparse to the same bits: " + text);
    }
    PQclear(chk);
  }

  // ------------------------------------------------------------- generators

  std::uint32_t U32() { return static_cast<std::uint32_t>(rng_()); }
  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Chance(int percent) { return Int(0, 99) < percent; }

  // A finite float: from random bits, or a "nice" number.
  float FiniteFloat() {
    switch (Int(0, 3)) {
      case 0: {
        for (;;) {
          std::uint32_t bits = U32();
          float f;
          std::memcpy(&f, &bits, 4);
          if (std::isfinite(f)) return f;
        }
      }
      case 1:
        return static_cast<float>(Int(-1000, 1000));
      case 2:
        return std::uniform_real_distribution<float>(-1.0f, 1.0f)(rng_);
      default:
        return std::ldexp(static_cast<float>(Int(1, 1 << 20)), Int(-149, 100));
    }
  }

  // Formats a float in one of the spellings strtof accepts, exactly.
  std::string FormatFloat(float f) {
    char buf[64];
    switch (Int(0, 3)) {
      case 0:
        std::snprintf(buf, sizeof buf, "%.9g", f);
        break;
      case 1:
        std::snprintf(buf, sizeof buf, "%.8e", f);
        break;
      case 2:
        std::snprintf(buf, sizeof buf, "%a", f);
        break;
      default:
        std::snprintf(buf, sizeof buf, "%.9G", f);
        break;
    }
    return buf;
  }

  std::string Space() {
    static const char* kSpaces[] = {"", "", "", " ", "  ", "\t", "\n", "\r", "\f", "\v"};
    return kSpaces[Int(0, 9)];
  }

  std::string ValidText(int dim) {
    std::string s = Space() + "[";
    for (int i = 0; i < dim; i++) {
      if (i > 0) s += ",";
      s += Space() + FormatFloat(FiniteFloat()) + Space();
    }
    return s + "]" + Space();
  }

  int RandomDim() {
    int r = Int(0, 99);
    if (r < 70) return Int(1, 16);
    if (r < 95) return Int(17, 300);
    return Int(301, 2000);
  }

  // A valid literal with one to three random edits.
  std::string MutatedText() {
    return Mutate(ValidText(Int(1, 8)), "[],.-+eE0123456789 naifxNAIFX\t\n;{}()'\"\\");
  }

  // One to three random edits of `s`, with characters from `alphabet`.
  std::string Mutate(std::string s, const char* alphabet) {
    const int alphabet_len = static_cast<int>(std::strlen(alphabet));
    int edits = Int(1, 3);
    for (int e = 0; e < edits; e++) {
      std::size_t pos =
          s.empty() ? 0 : static_cast<std::size_t>(Int(0, static_cast<int>(s.size())));
      char c = alphabet[Int(0, alphabet_len - 1)];
      switch (Int(0, 4)) {
        case 0:
          s.insert(pos, 1, c);
          break;
        case 1:
          if (pos < s.size()) s.erase(pos, 1);
          break;
        case 2:
          if (pos < s.size()) s[pos] = c;
          break;
        case 3:
          s.resize(pos);
          break;  // truncate
        default:
          if (pos < s.size()) s.insert(pos, s.substr(pos, Int(1, 6)));
          break;
      }
    }
    return s;
  }

  // Random characters, some from the vector alphabet, some arbitrary bytes
  // (invalid UTF-8 is rejected by the server's encoding check, class 22).
  std::string RandomText() {
    static const char kAlphabet[] = "[],.-+eE0123456789 naifxNAIFX\t";
    int len = Int(0, Chance(10) ? 500 : 40);
    std::string s;
    bool arbitrary = Chance(25);
    for (int i = 0; i < len; i++) {
      char c = arbitrary ? static_cast<char>(Int(1, 255))
                         : kAlphabet[Int(0, static_cast<int>(sizeof kAlphabet) - 2)];
      s += c;
    }
    if (Chance(50)) s = "[" + s;
    if (Chance(30)) s += "]";
    return s;
  }

  static void PutU16(std::string* s, std::uint16_t v) {
    s->push_back(static_cast<char>(v >> 8));
    s->push_back(static_cast<char>(v & 0xff));
  }
  static void PutU32(std::string* s, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8)
      s->push_back(static_cast<char>((v >> shift) & 0xff));
  }
  static std::uint32_t Bits(float f) {
    std::uint32_t b;
    std::memcpy(&b, &f, 4);
    return b;
  }

  std::string ValidBinary(int dim) {
    std::string s;
    PutU16(&s, static_cast<std::uint16_t>(dim));
    PutU16(&s, 0);
    for (int i = 0; i < dim; i++) PutU32(&s, Bits(FiniteFloat()));
    return s;
  }

  // A structurally plausible payload with one thing wrong (or nothing).
  std::string MalformedBinary() {
    int dim = Int(1, 20);
    std::string s = ValidBinary(dim);
    switch (Int(0, 8)) {
      case 0: {  // bad dimension field
        static const std::uint16_t kDims[] = {0, 16001, 32767, 32768, 65535, 40000};
        std::uint16_t d = kDims[Int(0, 5)];
        s[0] = static_cast<char>(d >> 8);
        s[1] = static_cast<char>(d & 0xff);
        break;
      }
      case 1: {  // non-zero unused field
        std::uint16_t u = static_cast<std::uint16_t>(Int(1, 65535));
        s[2] = static_cast<char>(u >> 8);
        s[3] = static_cast<char>(u & 0xff);
        break;
      }
      case 2:  // truncated payload
        s.resize(static_cast<std::size_t>(Int(0, static_cast<int>(s.size()) - 1)));
        break;
      case 3:  // trailing bytes
        for (int i = Int(1, 9); i > 0; i--) s.push_back(static_cast<char>(Int(0, 255)));
        break;
      case 4: {  // NaN or infinity bit patterns
        static const std::uint32_t kBad[] = {0x7fc00000u, 0xffc00000u, 0x7f800000u, 0xff800000u,
                                             0x7f800001u, 0x7fffffffu, 0xffffffffu};
        std::size_t at = 4 + 4 * static_cast<std::size_t>(Int(0, dim - 1));
        std::uint32_t b = kBad[Int(0, 6)];
        for (int k = 0; k < 4; k++) s[at + k] = static_cast<char>((b >> (24 - 8 * k)) & 0xff);
        break;
      }
      case 5: {  // dimension larger than the payload
        int d = dim + Int(1, 100);
        s[0] = static_cast<char>(d >> 8);
        s[1] = static_cast<char>(d & 0xff);
        break;
      }
      case 6:  // dimension smaller than the payload
        if (dim > 1) {
          s[0] = 0;
          s[1] = static_cast<char>(Int(1, dim - 1));
        }
        break;
      case 7:  // a random byte flipped anywhere
        s[static_cast<std::size_t>(Int(0, static_cast<int>(s.size()) - 1))] ^=
            static_cast<char>(1 << Int(0, 7));
        break;
      default:  // denormals and signed zeros: valid
        for (int i = 0; i < dim; i++) {
          std::uint32_t b = Chance(50) ? U32() & 0x807fffffu : (Chance(50) ? 0x80000000u : 0u);
          for (int k = 0; k < 4; k++)
            s[4 + 4 * i + k] = static_cast<char>((b >> (24 - 8 * k)) & 0xff);
        }
        break;
    }
    return s;
  }

  std::string RandomBytes() {
    std::string s;
    int len = Int(0, Chance(10) ? 300 : 24);
    for (int i = 0; i < len; i++) s.push_back(static_cast<char>(Int(0, 255)));
    // Often make the header plausible so the payload gets parsed.
    if (s.size() >= 4 && Chance(50)) {
      s[0] = 0;
      s[1] = static_cast<char>((s.size() - 4) / 4);
      s[2] = 0;
      s[3] = 0;
    }
    return s;
  }

  // ------------------------------------------------ sparsevec generators

  int RandomSparseDim() {
    int r = Int(0, 99);
    if (r < 50) return Int(1, 32);
    if (r < 80) return Int(33, 100000);
    if (r < 95) return Int(100001, 1000000000);
    return Chance(50) ? 1000000000 : Int(1, 3);
  }

  int RandomNnz(int dim) {
    int r = Int(0, 99);
    int n = r < 10 ? 0 : r < 80 ? Int(1, 16) : r < 97 ? Int(17, 300) : Int(301, 2000);
    return n > dim ? dim : n;
  }

  // `nnz` distinct indices in [0, dim), ascending.
  std::vector<int> SparseIndices(int dim, int nnz) {
    std::vector<int> idx;
    if (dim <= 4 * nnz) {  // dense: selection sampling over every index
      for (int i = 0; i < dim && static_cast<int>(idx.size()) < nnz; i++)
        if (Int(0, dim - i - 1) < nnz - static_cast<int>(idx.size())) idx.push_back(i);
      return idx;
    }
    std::set<int> chosen;
    while (static_cast<int>(chosen.size()) < nnz) chosen.insert(Int(0, dim - 1));
    idx.assign(chosen.begin(), chosen.end());
    return idx;
  }

  float NonZeroFloat() {
    for (;;) {
      float f = FiniteFloat();
      if (f != 0) return f;
    }
  }

  // A valid literal: 1-based indices in ascending or shuffled order, some
  // zero values (dropped on input), whitespace wherever it is allowed.
  std::string ValidSparseText(int dim, int nnz) {
    std::vector<int> idx = SparseIndices(dim, nnz);
    if (Chance(30)) std::shuffle(idx.begin(), idx.end(), rng_);
    std::string s = Space() + "{";
    for (std::size_t i = 0; i < idx.size(); i++) {
      if (i > 0) s += ",";
      s += Space() + std::to_string(idx[i] + 1) + Space() + ":" + Space() +
           FormatFloat(Chance(5) ? 0.0f : FiniteFloat()) + Space();
    }
    return s + "}" + Space() + "/" + Space() + std::to_string(dim) + Space();
  }

  std::string MutatedSparseText() {
    int dim = Int(1, 12);
    return Mutate(ValidSparseText(dim, Int(0, dim < 6 ? dim : 6)),
                  "{}:/,.-+eE0123456789 naifxNAIFX\t\n;[]()'\"\\");
  }

  std::string RandomSparseText() {
    static const char kAlphabet[] = "{}:/,.-+eE0123456789 naifx\t";
    int len = Int(0, Chance(10) ? 500 : 40);
    std::string s;
    bool arbitrary = Chance(25);
    for (int i = 0; i < len; i++) {
      char c = arbitrary ? static_cast<char>(Int(1, 255))
                         : kAlphabet[Int(0, static_cast<int>(sizeof kAlphabet) - 2)];
      s += c;
    }
    if (Chance(50)) s = "{" + s;
    if (Chance(40)) s += "}/" + std::to_string(Int(-5, 100));
    return s;
  }

  // int32 dim, int32 nnz, int32 unused, int32 indices (0-based), float4 values.
  std::string ValidSparseBinary(int dim, int nnz) {
    std::vector<int> idx = SparseIndices(dim, nnz);
    std::string s;
    PutU32(&s, static_cast<std::uint32_t>(dim));
    PutU32(&s, static_cast<std::uint32_t>(nnz));
    PutU32(&s, 0);
    for (int i : idx) PutU32(&s, static_cast<std::uint32_t>(i));
    for (int i = 0; i < nnz; i++) PutU32(&s, Bits(NonZeroFloat()));
    return s;
  }

  static void SetU32(std::string* s, std::size_t at, std::uint32_t v) {
    for (int k = 0; k < 4; k++) (*s)[at + k] = static_cast<char>((v >> (24 - 8 * k)) & 0xff);
  }

  // A structurally plausible payload with one thing wrong (or nothing).
  std::string MalformedSparseBinary() {
    int dim = Int(1, 50);
    int nnz = Int(0, dim < 12 ? dim : 12);
    std::string s = ValidSparseBinary(dim, nnz);
    const std::size_t values = 12 + 4 * static_cast<std::size_t>(nnz);
    switch (Int(0, 11)) {
      case 0: {  // bad dimension field
        static const std::uint32_t kDims[] = {0, 0xffffffffu, 1000000001u, 0x80000000u,
                                              0x7fffffffu};
        SetU32(&s, 0, kDims[Int(0, 4)]);
        break;
      }
      case 1: {  // bad element count
        static const std::uint32_t kCounts[] = {0xffffffffu, 16001u, 0x7fffffffu, 0x80000000u};
        SetU32(&s, 4, Chance(30) ? static_cast<std::uint32_t>(dim + 1) : kCounts[Int(0, 3)]);
        break;
      }
      case 2:  // non-zero unused field
        SetU32(&s, 8, static_cast<std::uint32_t>(Int(1, 0x7fffffff)));
        break;
      case 3:  // truncated payload
        s.resize(static_cast<std::size_t>(Int(0, static_cast<int>(s.size()) - 1)));
        break;
      case 4:  // trailing bytes
        for (int i = Int(1, 9); i > 0; i--) s.push_back(static_cast<char>(Int(0, 255)));
        break;
      case 5:  // zero, NaN or infinity bit patterns
        if (nnz > 0) {
          static const std::uint32_t kBad[] = {0u,          0x80000000u, 0x7fc00000u, 0xffc00000u,
                                               0x7f800000u, 0xff800000u, 0x7f800001u};
          SetU32(&s, values + 4 * static_cast<std::size_t>(Int(0, nnz - 1)), kBad[Int(0, 6)]);
        }
        break;
      case 6:  // an index out of bounds
        if (nnz > 0) {
          const std::uint32_t kIdx[] = {static_cast<std::uint32_t>(dim), 0xffffffffu, 0x7fffffffu,
                                        0x80000000u};
          SetU32(&s, 12 + 4 * static_cast<std::size_t>(Int(0, nnz - 1)), kIdx[Int(0, 3)]);
        }
        break;
      case 7:  // two indices swapped or repeated
        if (nnz > 1) {
          std::size_t a = 12 + 4 * static_cast<std::size_t>(Int(0, nnz - 2));
          std::string first = s.substr(a, 4);
          if (Chance(50)) s.replace(a, 4, s.substr(a + 4, 4));
          s.replace(a + 4, 4, first);
        }
        break;
      case 8:  // more elements claimed than sent
        SetU32(&s, 4, static_cast<std::uint32_t>(nnz + Int(1, 5)));
        break;
      case 9:  // a random byte flipped anywhere
        s[static_cast<std::size_t>(Int(0, static_cast<int>(s.size()) - 1))] ^=
            static_cast<char>(1 << Int(0, 7));
        break;
      case 10:  // fewer dimensions than the largest index needs
        if (nnz > 0) {
          std::uint32_t last = 0;
          for (int k = 0; k < 4; k++)
            last = (last << 8) | static_cast<unsigned char>(s[values - 4 + k]);
          SetU32(&s, 0, last);
        }
        break;
      default:  // denormals: valid
        for (int i = 0; i < nnz; i++)
          SetU32(&s, values + 4 * static_cast<std::size_t>(i), (U32() & 0x807fffffu) | 1u);
        break;
    }
    return s;
  }

  std::string RandomSparseBytes() {
    std::string s;
    int len = Int(0, Chance(10) ? 300 : 40);
    for (int i = 0; i < len; i++) s.push_back(static_cast<char>(Int(0, 255)));
    // Often make the header plausible so the payload gets parsed.
    if (s.size() >= 12 && Chance(50)) {
      SetU32(&s, 0, static_cast<std::uint32_t>(Int(1, 100)));
      SetU32(&s, 4, static_cast<std::uint32_t>((s.size() - 12) / 8));
      SetU32(&s, 8, 0);
    }
    return s;
  }

  // -------------------------------------------------- halfvec generators

  // The float value of a binary16 bit pattern (finite patterns only).
  static float HalfBitsToFloat(std::uint16_t h) {
    int exponent = (h >> 10) & 0x1f;
    int mantissa = h & 0x3ff;
    float magnitude = exponent == 0
                          ? std::ldexp(static_cast<float>(mantissa), -24)
                          : std::ldexp(static_cast<float>(mantissa | 0x400), exponent - 25);
    return (h & 0x8000) ? -magnitude : magnitude;
  }

  // A finite binary16 bit pattern (any sign, subnormals and zeros included).
  std::uint16_t FiniteHalfBits() {
    for (;;) {
      std::uint16_t h = static_cast<std::uint16_t>(U32());
      if ((h & 0x7c00) != 0x7c00) return h;
    }
  }

  // A float whose nearest half is finite (|f| < 65520): an exact half, a
  // "nice" number, or one that rounds (to a neighbour, to a subnormal, to
  // zero, or down to 65504).
  float HalfRangeFloat() {
    switch (Int(0, 4)) {
      case 0:
        return HalfBitsToFloat(FiniteHalfBits());
      case 1:
        return static_cast<float>(Int(-1000, 1000));
      case 2:
        return std::uniform_real_distribution<float>(-1.0f, 1.0f)(rng_);
      case 3:
        return std::ldexp(static_cast<float>(Int(1, 1 << 10)), Int(-40, 5));
      default:
        return std::uniform_real_distribution<float>(-65519.0f, 65519.0f)(rng_);
    }
  }

  std::string ValidHalfText(int dim) {
    std::string s = Space() + "[";
    for (int i = 0; i < dim; i++) {
      if (i > 0) s += ",";
      s += Space() + FormatFloat(HalfRangeFloat()) + Space();
    }
    return s + "]" + Space();
  }

  // A valid literal with one to three random edits.
  std::string MutatedHalfText() {
    return Mutate(ValidHalfText(Int(1, 8)), "[],.-+eE0123456789 naifxpNAIFXP\t\n;{}()'\"\\");
  }

  // uint16 dim, uint16 unused, dim binary16 bit patterns (network order).
  std::string ValidHalfBinary(int dim) {
    std::string s;
    PutU16(&s, static_cast<std::uint16_t>(dim));
    PutU16(&s, 0);
    for (int i = 0; i < dim; i++) PutU16(&s, FiniteHalfBits());
    return s;
  }

  static void SetU16(std::string* s, std::size_t at, std::uint16_t v) {
    (*s)[at] = static_cast<char>(v >> 8);
    (*s)[at + 1] = static_cast<char>(v & 0xff);
  }

  // A structurally plausible payload with one thing wrong (or nothing).
  std::string MalformedHalfBinary() {
    int dim = Int(1, 20);
    std::string s = ValidHalfBinary(dim);
    switch (Int(0, 8)) {
      case 0: {  // bad dimension field
        static const std::uint16_t kDims[] = {0, 16001, 32767, 32768, 65535, 40000};
        SetU16(&s, 0, kDims[Int(0, 5)]);
        break;
      }
      case 1:  // non-zero unused field
        SetU16(&s, 2, static_cast<std::uint16_t>(Int(1, 65535)));
        break;
      case 2:  // truncated payload
        s.resize(static_cast<std::size_t>(Int(0, static_cast<int>(s.size()) - 1)));
        break;
      case 3:  // trailing bytes
        for (int i = Int(1, 9); i > 0; i--) s.push_back(static_cast<char>(Int(0, 255)));
        break;
      case 4: {  // NaN or infinity bit patterns
        static const std::uint16_t kBad[] = {0x7c00, 0xfc00, 0x7e00, 0xfe00,
                                             0x7c01, 0x7fff, 0xffff};
        SetU16(&s, 4 + 2 * static_cast<std::size_t>(Int(0, dim - 1)), kBad[Int(0, 6)]);
        break;
      }
      case 5:  // dimension larger than the payload
        SetU16(&s, 0, static_cast<std::uint16_t>(dim + Int(1, 100)));
        break;
      case 6:  // dimension smaller than the payload
        if (dim > 1) SetU16(&s, 0, static_cast<std::uint16_t>(Int(1, dim - 1)));
        break;
      case 7:  // a random byte flipped anywhere
        s[static_cast<std::size_t>(Int(0, static_cast<int>(s.size()) - 1))] ^=
            static_cast<char>(1 << Int(0, 7));
        break;
      default:  // subnormals and signed zeros: valid
        for (int i = 0; i < dim; i++) {
          std::uint16_t h = Chance(50) ? static_cast<std::uint16_t>(U32() & 0x83ffu)
                                       : (Chance(50) ? 0x8000 : 0x0000);
          SetU16(&s, 4 + 2 * static_cast<std::size_t>(i), h);
        }
        break;
    }
    return s;
  }

  std::string RandomHalfBytes() {
    std::string s;
    int len = Int(0, Chance(10) ? 300 : 24);
    for (int i = 0; i < len; i++) s.push_back(static_cast<char>(Int(0, 255)));
    // Often make the header plausible so the payload gets parsed.
    if (s.size() >= 4 && Chance(50)) {
      SetU16(&s, 0, static_cast<std::uint16_t>((s.size() - 4) / 2));
      SetU16(&s, 2, 0);
    }
    return s;
  }

  static std::string Hex(const std::string& b) {
    static const char* kDigits = "0123456789abcdef";
    std::string out;
    std::size_t n = b.size() > 64 ? 64 : b.size();
    for (std::size_t i = 0; i < n; i++) {
      out += kDigits[(static_cast<unsigned char>(b[i]) >> 4) & 15];
      out += kDigits[static_cast<unsigned char>(b[i]) & 15];
    }
    if (b.size() > n) out += "...(" + std::to_string(b.size()) + " bytes)";
    return out;
  }

 private:
  // Classifies a result; returns false when the case is already decided.
  bool CheckResult(PGresult* res, const char* kind, const std::string& shown, Expect expect) {
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_TUPLES_OK) {
      stats.accepted++;
      if (expect == Expect::Error) {
        Fail(kind, shown,
             std::string("accepted, expected an error; value ") +
                 (PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "?"));
        PQclear(res);
        return false;
      }
      return true;
    }
    stats.rejected++;
    const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    std::string msg = PQresultErrorMessage(res);
    while (!msg.empty() && (msg.back() == '\n')) msg.pop_back();
    PQclear(res);
    if (!Alive()) {
      Fail(kind, shown, "connection lost: " + msg);
      return false;
    }
    if (state == nullptr ||
        (std::strncmp(state, "22", 2) != 0 && std::strncmp(state, "54", 2) != 0)) {
      Fail(kind, shown,
           std::string("error outside classes 22/54: ") + (state ? state : "none") + " " + msg);
      return false;
    }
    if (expect == Expect::Value) {
      Fail(kind, shown, std::string("rejected a well-formed input: ") + state + " " + msg);
      return false;
    }
    if (verbose_)
      std::printf("ok %s %s -> %s %s\n", kind, Short(shown).c_str(), state, msg.c_str());
    return false;
  }

  static std::string Short(const std::string& s) {
    std::string out;
    for (char c : s.substr(0, 80)) out += (c >= 32 && c < 127) ? c : '?';
    if (s.size() > 80) out += "...";
    return out;
  }

  void Fail(const char* kind, const std::string& input, const std::string& why) {
    stats.failures++;
    if (stats.failures <= 20)
      std::printf("FAIL %s input \"%s\": %s\n", kind, Short(input).c_str(),
                  why.substr(0, 300).c_str());
  }

  PGconn* conn_;
  std::string type_ = "vector";
  Oid type_oid_ = 0;
  std::mt19937_64 rng_;
  bool verbose_;
};

bool ParseArgs(int argc, char** argv, Options* o) {
  if (const char* s = std::getenv("VECGO_FUZZ_SEED")) o->seed = std::strtoull(s, nullptr, 10);
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--verbose") {
      o->verbose = true;
      continue;
    }
    if (a == "--help" || a == "-h") return false;
    if ((v = next()) == nullptr) return false;
    if (a == "--host" || a == "-H")
      o->host = v;
    else if (a == "--port" || a == "-p")
      o->port = v;
    else if (a == "--dbname" || a == "-d")
      o->dbname = v;
    else if (a == "--user" || a == "-U")
      o->user = v;
    else if (a == "--seed")
      o->seed = std::strtoull(v, nullptr, 10);
    else if (a == "--text-cases")
      o->text_cases = std::atoi(v);
    else if (a == "--binary-cases")
      o->binary_cases = std::atoi(v);
    else
      return false;
  }
  return true;
}

std::string Repeat(const std::string& item, int n, const char* sep) {
  std::string s;
  for (int i = 0; i < n; i++) {
    if (i > 0) s += sep;
    s += item;
  }
  return s;
}

// The OID of vecgo's type `name`, or 0 (with a message) when it is missing.
Oid TypeOid(PGconn* conn, const char* name) {
  const char* values[1] = {name};
  PGresult* r = PQexecParams(conn,
                             "SELECT t.oid FROM pg_type t JOIN pg_depend d ON d.classid = "
                             "'pg_type'::regclass AND d.objid = t.oid JOIN pg_extension e ON "
                             "e.oid = d.refobjid WHERE t.typname = $1 AND e.extname = 'vecgo'",
                             1, nullptr, values, nullptr, nullptr, 0);
  Oid oid = 0;
  if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
    oid = static_cast<Oid>(std::strtoul(PQgetvalue(r, 0, 0), nullptr, 10));
  else
    std::fprintf(stderr, "fuzz_io: the vecgo %s type is not installed: %s", name,
                 PQresultErrorMessage(r));
  PQclear(r);
  return oid;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (!ParseArgs(argc, argv, &opt)) {
    std::fprintf(stderr,
                 "usage: %s [--host H] [--port P] [--dbname D] [--user U] [--seed N] "
                 "[--text-cases N] [--binary-cases N] [--verbose]\n",
                 argv[0]);
    return 2;
  }

  const char* keys[6];
  const char* vals[6];
  int n = 0;
  if (opt.host) keys[n] = "host", vals[n++] = opt.host;
  if (opt.port) keys[n] = "port", vals[n++] = opt.port;
  if (opt.dbname) keys[n] = "dbname", vals[n++] = opt.dbname;
  if (opt.user) keys[n] = "user", vals[n++] = opt.user;
  keys[n] = "application_name", vals[n++] = "vecgo_fuzz_io";
  keys[n] = nullptr, vals[n] = nullptr;
  PGconn* conn = PQconnectdbParams(keys, vals, 0);
  if (PQstatus(conn) != CONNECTION_OK) {
    std::fprintf(stderr, "fuzz_io: cannot connect: %s", PQerrorMessage(conn));
    return 2;
  }
  PQclear(PQexec(conn, "SET client_min_messages = warning"));
  PQclear(PQexec(conn, "CREATE EXTENSION IF NOT EXISTS vecgo"));
  Oid vector_oid = TypeOid(conn, "vector");
  Oid sparsevec_oid = TypeOid(conn, "sparsevec");
  Oid halfvec_oid = TypeOid(conn, "halfvec");
  if (vector_oid == 0 || sparsevec_oid == 0 || halfvec_oid == 0) return 2;

  std::printf("fuzz_io: seed %" PRIu64 ", vector oid %u, sparsevec oid %u, halfvec oid %u\n",
              opt.seed, vector_oid, sparsevec_oid, halfvec_oid);
  Fuzzer f(conn, opt.seed, opt.verbose);
  f.UseType("vector", vector_oid);

  // ---- fixed edge cases, text
  const std::string ones16000 = "[" + Repeat("1", 16000, ",") + "]";
  const std::string ones16001 = "[" + Repeat("1", 16001, ",") + "]";
  struct TextEdge {
    std::string input;
    Expect expect;
  } text_edges[] = {
      {"[1,2,3]", Expect::Value},
      {" [ 1 , 2 ] ", Expect::Value},
      {"[1e-46]", Expect::Value},
      {"[-0]", Expect::Value},
      {"[0x1p-149]", Expect::Value},
      {"[3.4028235e38]", Expect::Value},
      {"[1.17549435e-38]", Expect::Value},
      {ones16000, Expect::Value},
      {ones16001, Expect::Error},
      {"", Expect::Error},
      {"[", Expect::Error},
      {"]", Expect::Error},
      {"[]", Expect::Error},
      {"[ ]", Expect::Error},
      {"[,]", Expect::Error},
      {"[1,]", Expect::Error},
      {"[,1]", Expect::Error},
      {"[1,,2]", Expect::Error},
      {"[1 2]", Expect::Error},
      {"[1]x", Expect::Error},
      {"[[1]]", Expect::Error},
      {"[nan]", Expect::Error},
      {"[NaN]", Expect::Error},
      {"[inf]", Expect::Error},
      {"[-Infinity]", Expect::Error},
      {"[3.5e38]", Expect::Error},
      {"[-1e39]", Expect::Error},
      {"[1e999999999]", Expect::Error},
      {"[" + std::string(100000, '9') + "]", Expect::Error},
      {"[" + std::string(20000, ' ') + "]", Expect::Error},
      {"[" + Repeat("", 20000, ",") + "]", Expect::Error},
      {"[1" + std::string(50000, '0') + "e-50000]", Expect::Either},
      {"[0." + std::string(5000, '0') + "1]", Expect::Value},
      {"{1,2}", Expect::Error},
      {"(1,2)", Expect::Error},
      {"[\xff\xfe]", Expect::Error},
      {"[1,2]\xc3", Expect::Error},
  };
  for (const auto& e : text_edges) f.TextCase(e.input, e.expect);

  // ---- random text
  for (int i = 0; i < opt.text_cases && f.Alive(); i++) {
    int kind = f.Int(0, 9);
    if (kind < 3)
      f.TextCase(f.ValidText(f.RandomDim()), Expect::Value);
    else if (kind < 7)
      f.TextCase(f.MutatedText(), Expect::Either);
    else
      f.TextCase(f.RandomText(), Expect::Either);
  }

  // ---- fixed edge cases, binary
  std::vector<std::pair<std::string, Expect>> bin_edges;
  bin_edges.push_back({std::string(), Expect::Error});
  bin_edges.push_back({std::string("\x00", 1), Expect::Error});
  bin_edges.push_back({std::string("\x00\x01\x00", 3), Expect::Error});
  bin_edges.push_back({std::string("\x00\x00\x00\x00", 4), Expect::Error});  // dim 0
  bin_edges.push_back({std::string("\x00\x01\x00\x00", 4), Expect::Error});  // no payload
  bin_edges.push_back({std::string("\xff\xff\x00\x00", 4), Expect::Error});  // dim -1
  bin_edges.push_back({std::string("\x80\x00\x00\x00", 4), Expect::Error});  // dim -32768
  bin_edges.push_back({std::string("\x3e\x81\x00\x00", 4), Expect::Error});  // 16001
  bin_edges.push_back({std::string("\x00\x01\x00\x01\x3f\x80\x00\x00", 8), Expect::Error});
  bin_edges.push_back({std::string("\x00\x01\x80\x00\x3f\x80\x00\x00", 8), Expect::Error});
  bin_edges.push_back({std::string("\x00\x01\x00\x00\x7f\xc0\x00\x00", 8), Expect::Error});  // NaN
  bin_edges.push_back({std::string("\x00\x01\x00\x00\x7f\x80\x00\x00", 8), Expect::Error});  // +Inf
  bin_edges.push_back({std::string("\x00\x01\x00\x00\xff\x80\x00\x00", 8), Expect::Error});  // -Inf
  bin_edges.push_back(
      {std::string("\x00\x01\x00\x00\x00\x00\x00\x01", 8), Expect::Value});  // denormal
  bin_edges.push_back({std::string("\x00\x01\x00\x00\x80\x00\x00\x00", 8), Expect::Value});  // -0
  bin_edges.push_back({std::string("\x00\x01\x00\x00\x3f\x80\x00\x00\x00", 9), Expect::Error});
  bin_edges.push_back({std::string("\x00\x02\x00\x00\x3f\x80\x00\x00", 8), Expect::Error});
  {
    std::string max_dim;
    Fuzzer::PutU16(&max_dim, 16000);
    Fuzzer::PutU16(&max_dim, 0);
    for (int i = 0; i < 16000; i++) Fuzzer::PutU32(&max_dim, 0x3f800000u);
    bin_edges.push_back({max_dim, Expect::Value});
    std::string over = max_dim;
    over[0] = 0x3e, over[1] = static_cast<char>(0x81);  // claims 16001
    bin_edges.push_back({over, Expect::Error});
  }
  for (const auto& e : bin_edges) f.BinaryCase(e.first, e.second);

  // ---- random binary
  for (int i = 0; i < opt.binary_cases && f.Alive(); i++) {
    int kind = f.Int(0, 9);
    if (kind < 3)
      f.BinaryCase(f.ValidBinary(f.RandomDim()), Expect::Value);
    else if (kind < 7)
      f.BinaryCase(f.MalformedBinary(), Expect::Either);
    else
      f.BinaryCase(f.RandomBytes(), Expect::Either);
  }

  // ---- sparsevec: fixed edge cases, text
  f.UseType("sparsevec", sparsevec_oid);
  std::string sparse16000 = "{";
  for (int i = 1; i <= 16000; i++) sparse16000 += (i > 1 ? "," : "") + std::to_string(i) + ":1";
  const std::string sparse16001 = sparse16000 + ",16001:1}/16001";
  sparse16000 += "}/16000";
  const std::string zeros16001 = "{" + Repeat("1:0", 16001, ",") + "}/1";
  TextEdge sparse_text_edges[] = {
      {"{1:1,3:2}/5", Expect::Value},
      {" { 1 : 1.5 , 3 : 3.5 } / 5 ", Expect::Value},
      {"{2:1,1:-1}/2", Expect::Value},
      {"{}/1", Expect::Value},
      {"{ }/1", Expect::Value},
      {"{}/1000000000", Expect::Value},
      {"{1000000000:1}/1000000000", Expect::Value},
      {"{1:0}/1", Expect::Value},
      {"{1:-0}/1", Expect::Value},
      {"{0:0,9:0}/1", Expect::Value},
      {"{1:1e-45}/1", Expect::Value},
      {"{1:0x1p-149}/1", Expect::Value},
      {"{1:3.4028235e38}/1", Expect::Value},
      {"{+1:1}/+1", Expect::Value},
      {"{" + std::string(20000, ' ') + "}/1", Expect::Value},
      {"{1:0." + std::string(5000, '0') + "1}/1", Expect::Error},
      {sparse16000, Expect::Value},
      {sparse16001, Expect::Error},
      {zeros16001, Expect::Error},
      {"", Expect::Error},
      {"{", Expect::Error},
      {"}", Expect::Error},
      {"{}", Expect::Error},
      {"{}/", Expect::Error},
      {"{}/0", Expect::Error},
      {"{}/-1", Expect::Error},
      {"{}/1000000001", Expect::Error},
      {"{}/99999999999999999999", Expect::Error},
      {"{}/-99999999999999999999", Expect::Error},
      {"{}/1x", Expect::Error},
      {"{}/1}", Expect::Error},
      {"{0:1}/1", Expect::Error},
      {"{2:1}/1", Expect::Error},
      {"{-1:1}/1", Expect::Error},
      {"{1:1,1:1}/2", Expect::Error},
      {"{2:1,1:1,2:1}/2", Expect::Error},
      {"{1:1,}/1", Expect::Error},
      {"{,1:1}/1", Expect::Error},
      {"{1:1 2:1}/2", Expect::Error},
      {"{1}/1", Expect::Error},
      {"{:1}/1", Expect::Error},
      {"{1:}/1", Expect::Error},
      {"{1::1}/1", Expect::Error},
      {"{1:nan}/1", Expect::Error},
      {"{1:NaN}/1", Expect::Error},
      {"{1:inf}/1", Expect::Error},
      {"{1:-Infinity}/1", Expect::Error},
      {"{1:1e-46}/1", Expect::Error},  // underflow to zero is a range error
      {"{1:4e38}/1", Expect::Error},
      {"{1:1e999999999}/1", Expect::Error},
      {"{" + std::string(100000, '9') + ":1}/1", Expect::Error},
      {"{1:" + std::string(100000, '9') + "}/1", Expect::Error},
      {"{}/" + std::string(100000, '9'), Expect::Error},
      {"{" + Repeat("", 20000, ",") + "}/1", Expect::Error},
      {"{1:1" + std::string(50000, '0') + "e-50000}/1", Expect::Either},
      {"[1,2]", Expect::Error},
      {"{1:1}/1\xc3", Expect::Error},
      {"{1:\xff\xfe}/1", Expect::Error},
  };
  for (const auto& e : sparse_text_edges) f.TextCase(e.input, e.expect);

  // ---- sparsevec: random text
  for (int i = 0; i < opt.text_cases && f.Alive(); i++) {
    int kind = f.Int(0, 9);
    if (kind < 3) {
      int dim = f.RandomSparseDim();
      f.TextCase(f.ValidSparseText(dim, f.RandomNnz(dim)), Expect::Value);
    } else if (kind < 7) {
      f.TextCase(f.MutatedSparseText(), Expect::Either);
    } else {
      f.TextCase(f.RandomSparseText(), Expect::Either);
    }
  }

  // ---- sparsevec: fixed edge cases, binary
  auto header = [](std::uint32_t dim, std::uint32_t nnz, std::uint32_t unused) {
    std::string s;
    Fuzzer::PutU32(&s, dim);
    Fuzzer::PutU32(&s, nnz);
    Fuzzer::PutU32(&s, unused);
    return s;
  };
  auto element = [&](std::uint32_t dim, std::uint32_t index, std::uint32_t value_bits) {
    std::string s = header(dim, 1, 0);
    Fuzzer::PutU32(&s, index);
    Fuzzer::PutU32(&s, value_bits);
    return s;
  };
  std::vector<std::pair<std::string, Expect>> sparse_bin_edges;
  sparse_bin_edges.push_back({std::string(), Expect::Error});
  sparse_bin_edges.push_back({std::string("\x00\x00\x00\x01", 4), Expect::Error});
  sparse_bin_edges.push_back({header(1, 0, 0), Expect::Value});
  sparse_bin_edges.push_back({header(1000000000, 0, 0), Expect::Value});
  sparse_bin_edges.push_back({header(0, 0, 0), Expect::Error});
  sparse_bin_edges.push_back({header(1000000001, 0, 0), Expect::Error});
  sparse_bin_edges.push_back({header(0xffffffffu, 0, 0), Expect::Error});
  sparse_bin_edges.push_back({header(5, 0xffffffffu, 0), Expect::Error});
  sparse_bin_edges.push_back({header(5, 6, 0), Expect::Error});
  sparse_bin_edges.push_back({header(20000, 16001, 0), Expect::Error});
  sparse_bin_edges.push_back({header(5, 0, 1), Expect::Error});
  sparse_bin_edges.push_back({header(5, 1, 0), Expect::Error});  // no payload
  sparse_bin_edges.push_back({element(5, 4, 0x3f800000u), Expect::Value});
  sparse_bin_edges.push_back({element(5, 5, 0x3f800000u), Expect::Error});
  sparse_bin_edges.push_back({element(5, 0xffffffffu, 0x3f800000u), Expect::Error});
  sparse_bin_edges.push_back({element(5, 0, 0x00000001u), Expect::Value});  // denormal
  sparse_bin_edges.push_back({element(5, 0, 0x00000000u), Expect::Error});  // zero
  sparse_bin_edges.push_back({element(5, 0, 0x80000000u), Expect::Error});  // -0
  sparse_bin_edges.push_back({element(5, 0, 0x7fc00000u), Expect::Error});  // NaN
  sparse_bin_edges.push_back({element(5, 0, 0x7f800000u), Expect::Error});  // +Inf
  sparse_bin_edges.push_back({element(5, 0, 0xff800000u), Expect::Error});  // -Inf
  sparse_bin_edges.push_back({element(5, 0, 0x3f800000u) + "x", Expect::Error});
  {
    std::string two = header(5, 2, 0);
    Fuzzer::PutU32(&two, 3);
    Fuzzer::PutU32(&two, 1);
    Fuzzer::PutU32(&two, 0x3f800000u);
    Fuzzer::PutU32(&two, 0x3f800000u);
    sparse_bin_edges.push_back({two, Expect::Error});  // descending
    std::string dup = two;
    Fuzzer::SetU32(&dup, 16, 3);
    sparse_bin_edges.push_back({dup, Expect::Error});  // duplicate
    std::string max_nnz = header(16000, 16000, 0);
    for (int i = 0; i < 16000; i++) Fuzzer::PutU32(&max_nnz, static_cast<std::uint32_t>(i));
    for (int i = 0; i < 16000; i++) Fuzzer::PutU32(&max_nnz, 0x3f800000u);
    sparse_bin_edges.push_back({max_nnz, Expect::Value});
  }
  for (const auto& e : sparse_bin_edges) f.BinaryCase(e.first, e.second);

  // ---- sparsevec: random binary
  for (int i = 0; i < opt.binary_cases && f.Alive(); i++) {
    int kind = f.Int(0, 9);
    if (kind < 3) {
      int dim = f.RandomSparseDim();
      f.BinaryCase(f.ValidSparseBinary(dim, f.RandomNnz(dim)), Expect::Value);
    } else if (kind < 7) {
      f.BinaryCase(f.MalformedSparseBinary(), Expect::Either);
    } else {
      f.BinaryCase(f.RandomSparseBytes(), Expect::Either);
    }
  }

  // ---- halfvec: fixed edge cases, text
  f.UseType("halfvec", halfvec_oid);
  TextEdge half_text_edges[] = {
      {"[1,2,3]", Expect::Value},
      {" [ 1 , 2 ] ", Expect::Value},
      {"[0.1,-0.1]", Expect::Value},
      {"[-0]", Expect::Value},
      {"[65504,-65504]", Expect::Value},
      {"[65519.996]", Expect::Value},      // rounds down to 65504
      {"[0x1.ffdffep15]", Expect::Value},  // the largest float below 65520
      {"[0x1p-24]", Expect::Value},        // the smallest subnormal
      {"[0x1p-25]", Expect::Value},        // a tie: rounds to even, zero
      {"[6e-8,-6e-8]", Expect::Value},
      {"[1e-8,-1e-8]", Expect::Value},  // zero and minus zero
      {"[1e-46]", Expect::Value},
      {"[2049,4097]", Expect::Value},  // rounded to even
      {ones16000, Expect::Value},
      {ones16001, Expect::Error},
      {"[65520]", Expect::Error},
      {"[-65520]", Expect::Error},
      {"[0x1.ffep15]", Expect::Error},
      {"[1,1e5]", Expect::Error},
      {"[3.4028235e38]", Expect::Error},
      {"[3.5e38]", Expect::Error},
      {"[-1e39]", Expect::Error},
      {"[1e999999999]", Expect::Error},
      {"[nan]", Expect::Error},
      {"[NaN]", Expect::Error},
      {"[inf]", Expect::Error},
      {"[-Infinity]", Expect::Error},
      {"", Expect::Error},
      {"[", Expect::Error},
      {"]", Expect::Error},
      {"[]", Expect::Error},
      {"[ ]", Expect::Error},
      {"[,]", Expect::Error},
      {"[1,]", Expect::Error},
      {"[,1]", Expect::Error},
      {"[1,,2]", Expect::Error},
      {"[1 2]", Expect::Error},
      {"[1]x", Expect::Error},
      {"[[1]]", Expect::Error},
      {"[" + std::string(100000, '9') + "]", Expect::Error},
      {"[" + std::string(20000, ' ') + "]", Expect::Error},
      {"[" + Repeat("", 20000, ",") + "]", Expect::Error},
      {"[1" + std::string(50000, '0') + "e-50000]", Expect::Either},
      {"[0." + std::string(5000, '0') + "1]", Expect::Value},
      {"{1,2}", Expect::Error},
      {"{1:1}/1", Expect::Error},
      {"(1,2)", Expect::Error},
      {"[\xff\xfe]", Expect::Error},
      {"[1,2]\xc3", Expect::Error},
  };
  for (const auto& e : half_text_edges) f.TextCase(e.input, e.expect);

  // ---- halfvec: random text
  for (int i = 0; i < opt.text_cases && f.Alive(); i++) {
    int kind = f.Int(0, 9);
    if (kind < 3)
      f.TextCase(f.ValidHalfText(f.RandomDim()), Expect::Value);
    else if (kind < 7)
      f.TextCase(f.MutatedHalfText(), Expect::Either);
    else
      f.TextCase(f.RandomText(), Expect::Either);
  }

  // ---- halfvec: fixed edge cases, binary
  std::vector<std::pair<std::string, Expect>> half_bin_edges;
  half_bin_edges.push_back({std::string(), Expect::Error});
  half_bin_edges.push_back({std::string("\x00", 1), Expect::Error});
  half_bin_edges.push_back({std::string("\x00\x01\x00", 3), Expect::Error});
  half_bin_edges.push_back({std::string("\x00\x00\x00\x00", 4), Expect::Error});  // dim 0
  half_bin_edges.push_back({std::string("\x00\x01\x00\x00", 4), Expect::Error});  // no payload
  half_bin_edges.push_back({std::string("\xff\xff\x00\x00", 4), Expect::Error});  // dim 65535
  half_bin_edges.push_back({std::string("\x80\x00\x00\x00", 4), Expect::Error});  // dim 32768
  half_bin_edges.push_back({std::string("\x3e\x81\x00\x00", 4), Expect::Error});  // 16001
  half_bin_edges.push_back({std::string("\x00\x01\x00\x01\x3c\x00", 6), Expect::Error});
  half_bin_edges.push_back({std::string("\x00\x01\x80\x00\x3c\x00", 6), Expect::Error});
  half_bin_edges.push_back({std::string("\x00\x01\x00\x00\x7e\x00", 6), Expect::Error});  // NaN
  half_bin_edges.push_back({std::string("\x00\x01\x00\x00\x7c\x01", 6), Expect::Error});  // NaN
  half_bin_edges.push_back({std::string("\x00\x01\x00\x00\xff\xff", 6), Expect::Error});  // NaN
  half_bin_edges.push_back({std::string("\x00\x01\x00\x00\x7c\x00", 6), Expect::Error});  // +Inf
  half_bin_edges.push_back({std::string("\x00\x01\x00\x00\xfc\x00", 6), Expect::Error});  // -Inf
  half_bin_edges.push_back(
      {std::string("\x00\x01\x00\x00\x00\x01", 6), Expect::Value});  // subnormal
  half_bin_edges.push_back(
      {std::string("\x00\x01\x00\x00\x83\xff", 6), Expect::Value});  // subnormal
  half_bin_edges.push_back({std::string("\x00\x01\x00\x00\x80\x00", 6), Expect::Value});  // -0
  half_bin_edges.push_back({std::string("\x00\x02\x00\x00\x7b\xff\xfb\xff", 8), Expect::Value});
  half_bin_edges.push_back({std::string("\x00\x01\x00\x00\x3c\x00\x00", 7), Expect::Error});
  half_bin_edges.push_back({std::string("\x00\x02\x00\x00\x3c\x00", 6), Expect::Error});
  {
    std::string max_dim;
    Fuzzer::PutU16(&max_dim, 16000);
    Fuzzer::PutU16(&max_dim, 0);
    for (int i = 0; i < 16000; i++) Fuzzer::PutU16(&max_dim, 0x3c00);
    half_bin_edges.push_back({max_dim, Expect::Value});
    std::string over = max_dim;
    over[0] = 0x3e, over[1] = static_cast<char>(0x81);  // claims 16001
    half_bin_edges.push_back({over, Expect::Error});
    Fuzzer::PutU16(&over, 0x3c00);  // and sends them
    half_bin_edges.push_back({over, Expect::Error});
  }
  for (const auto& e : half_bin_edges) f.BinaryCase(e.first, e.second);

  // ---- halfvec: random binary
  for (int i = 0; i < opt.binary_cases && f.Alive(); i++) {
    int kind = f.Int(0, 9);
    if (kind < 3)
      f.BinaryCase(f.ValidHalfBinary(f.RandomDim()), Expect::Value);
    else if (kind < 7)
      f.BinaryCase(f.MalformedHalfBinary(), Expect::Either);
    else
      f.BinaryCase(f.RandomHalfBytes(), Expect::Either);
  }

  bool alive = f.Alive();
  if (!alive) f.stats.failures++;
  std::printf("fuzz_io: %ld cases, %ld accepted, %ld rejected cleanly, %ld failed (seed %" PRIu64
              ")%s\n",
              f.stats.cases, f.stats.accepted, f.stats.rejected, f.stats.failures, opt.seed,
              alive ? "" : " - connection lost");
  PQfinish(conn);
  return f.stats.failures == 0 ? 0 : 1;
}
