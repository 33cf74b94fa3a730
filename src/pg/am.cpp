// The `vecgo` access method's handler, options, settings, cost estimate and
// the distance conventions shared by build, scan and maintenance.
#include <cmath>
#include <cstring>

#include "vecgo/distance.h"
#include "guard.h"
#include "am.h"

extern "C" {
#include "access/genam.h"
#include "access/relscan.h"
#include "commands/progress.h"
#include "commands/vacuum.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/selfuncs.h"
}

namespace vecgo::pg {

int g_ef_search = 200;
int g_iterative_scan = kIterRelaxed;
int g_max_scan_tuples = 20000;

namespace {

relopt_kind g_relopt_kind;

const config_enum_entry kIterativeScanOptions[] = {
    {"off", kIterOff, false},
    {"relaxed_order", kIterRelaxed, false},
    {"strict_order", kIterStrict, false},
    {nullptr, 0, false},
};

// Defaults and ranges of the reloptions (DESIGN.md, Settings).
constexpr int kDefaultM = 16;
constexpr int kDefaultEfConstruction = 64;
constexpr int kDefaultMemtableMB = 64;
constexpr int kDefaultCompactionThreshold = 8;
constexpr int kDefaultDiskannThreshold = 0;  // by cost (SegmentWantsGraph)
constexpr int kDefaultGraphDegree = 64;
constexpr int kDefaultBuildListSize = 100;
constexpr double kDefaultAlpha = 1.2;

void ValidateQuantization(const char* value) {
  if (value != nullptr && ParseQuantization(value) == 0xFF)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("invalid value for vecgo option \"quantization\": \"%s\"", value),
                    errdetail("Valid values are \"none\", \"sq8\", \"int4\" and \"pq\".")));
}

}  // namespace

uint8 ParseQuantization(const char* s) {
  if (pg_strcasecmp(s, "none") == 0) return kQuantNone;
  if (pg_strcasecmp(s, "sq8") == 0) return kQuantSQ8;
  if (pg_strcasecmp(s, "pq") == 0) return kQuantPQ;
  if (pg_strcasecmp(s, "int4") == 0) return kQuantInt4;
  return 0xFF;
}

const char* QuantizationName(uint8 q) {
  switch (q) {
    case kQuantNone: return "none";
    case kQuantSQ8: return "sq8";
    case kQuantPQ: return "pq";
    case kQuantInt4: return "int4";
  }
  return "unknown";
}

void InitIndexAm() {
  g_relopt_kind = add_reloption_kind();
  add_int_reloption(g_relopt_kind, "m", "HNSW MemTable: links per node", kDefaultM, 2, 100,
                    AccessExclusiveLock);
  add_int_reloption(g_relopt_kind, "ef_construction", "HNSW MemTable: build candidate list size",
                    kDefaultEfConstruction, 4, 1000, AccessExclusiveLock);
  add_int_reloption(g_relopt_kind, "memtable_size",
                    "Size in megabytes at which the L0 log is sealed into a segment",
                    kDefaultMemtableMB, 1, 1024 * 1024, AccessExclusiveLock);
  add_int_reloption(g_relopt_kind, "compaction_threshold",
                    "Segments of one size tier merged by compaction", kDefaultCompactionThreshold,
                    2, 64, AccessExclusiveLock);
  add_int_reloption(g_relopt_kind, "diskann_threshold",
                    "Rows from which a segment is written as DiskANN instead of Flat "
                    "(0: decided by the cost of an exact scan, rows x dimensions)",
                    kDefaultDiskannThreshold, 0, INT_MAX, AccessExclusiveLock);
  add_int_reloption(g_relopt_kind, "graph_degree", "DiskANN: maximum out-degree (R)",
                    kDefaultGraphDegree, 4, 256, AccessExclusiveLock);
  add_int_reloption(g_relopt_kind, "build_list_size", "DiskANN: build search list size (L)",
                    kDefaultBuildListSize, 10, 1000, AccessExclusiveLock);
  add_real_reloption(g_relopt_kind, "alpha", "DiskANN: pruning factor", kDefaultAlpha, 1.0, 2.0,
                     AccessExclusiveLock);
  add_string_reloption(g_relopt_kind, "quantization",
                       "Vector compression of segments: none, sq8, int4, pq", "none",
                       ValidateQuantization, AccessExclusiveLock);

  DefineCustomIntVariable("vecgo.ef_search", "Candidates a vecgo scan gathers before returning rows.",
                          "The first batch of an index scan; later batches grow from it.",
                          &g_ef_search, 200, 1, 1000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  DefineCustomEnumVariable(
      "vecgo.iterative_scan", "Whether a vecgo scan continues past ef_search rows.",
      "off stops after vecgo.ef_search rows; relaxed_order and strict_order keep returning "
      "further neighbours (in exact distance order) up to vecgo.max_scan_tuples.",
      &g_iterative_scan, kIterRelaxed, kIterativeScanOptions, PGC_USERSET, 0, nullptr, nullptr,
      nullptr);
  DefineSegmentCacheGuc();
  DefineCustomIntVariable("vecgo.max_scan_tuples",
                          "Most rows one iterative vecgo scan returns.", nullptr,
                          &g_max_scan_tuples, 20000, 1, INT_MAX, PGC_USERSET, 0, nullptr, nullptr,
                          nullptr);
}

namespace {

bytea* OptionsImpl(Datum reloptions, bool validate) {
  static const relopt_parse_elt tab[] = {
      {"m", RELOPT_TYPE_INT, offsetof(Options, m)},
      {"ef_construction", RELOPT_TYPE_INT, offsetof(Options, ef_construction)},
      {"memtable_size", RELOPT_TYPE_INT, offsetof(Options, memtable_size)},
      {"compaction_threshold", RELOPT_TYPE_INT, offsetof(Options, compaction_threshold)},
      {"diskann_threshold", RELOPT_TYPE_INT, offsetof(Options, diskann_threshold)},
      {"graph_degree", RELOPT_TYPE_INT, offsetof(Options, graph_degree)},
      {"build_list_size", RELOPT_TYPE_INT, offsetof(Options, build_list_size)},
      {"alpha", RELOPT_TYPE_REAL, offsetof(Options, alpha)},
      {"quantization", RELOPT_TYPE_STRING, offsetof(Options, quantization_offset)},
  };
  bytea* result = static_cast<bytea*>(
      build_reloptions(reloptions, validate, g_relopt_kind, sizeof(Options), tab, lengthof(tab)));
  // A graph of fewer rows than kMinGraphRows is never worth its build.
  const Options* o = reinterpret_cast<const Options*>(result);
  if (validate && o && o->diskann_threshold != 0 && o->diskann_threshold < static_cast<int>(kMinGraphRows))
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("value %d out of bounds for option \"diskann_threshold\"", o->diskann_threshold),
                    errdetail("Valid values are 0 (decided by cost) and %d to %d.",
                              static_cast<int>(kMinGraphRows), INT_MAX)));
  return result;
}

void CostEstimateImpl(PlannerInfo* root, IndexPath* path, double loop_count,
                       Cost* startup_cost, Cost* total_cost, Selectivity* selectivity,
                       double* correlation, double* pages) {
  (void)root;
  (void)loop_count;
  // The index only answers ORDER BY distance: never use it otherwise.
  if (path->indexorderbys == NIL) {
    *startup_cost = get_float8_infinity();
    *total_cost = get_float8_infinity();
    *selectivity = 0;
    *correlation = 0;
    *pages = 0;
    return;
  }
  IndexOptInfo* index = path->indexinfo;
  double tuples = std::max(index->tuples, 1.0);
  double npages = std::max(static_cast<double>(index->pages), 1.0);
  double ef = std::max(g_ef_search, 1);

  // Each tier prices itself (TierOps::cost): exact tiers are read whole and
  // every live row gets one distance before the first row comes out; a
  // graph tier pays for the nodes a batch expands. The manifest lists them.
  MetaData meta;
  Relation rel = index_open(index->indexoid, NoLock);
  ReadMeta(rel, &meta);
  double exact_pages = 0, exact_rows = 0, exact_cost = 0, seg_rows = 0, seg_pages = 0,
         approx_cost = 0, approx_all = 0;
  for (uint32 i = 0; i < meta.nsegments; i++) {
    TierCost c;
    TierOpsOf(rel, meta.segments[i].kind).cost(meta, meta.segments[i], ef, &c);
    seg_rows += c.rows;
    seg_pages += c.pages;
    if (c.exact) {
      exact_rows += c.rows;
      exact_pages += c.pages;
      exact_cost += c.batch;
    } else {
      approx_cost += c.batch;
      approx_all += c.all;
    }
  }
  index_close(rel, NoLock);
  // The L0 log (exact): what the segments do not account for.
  double l0_rows = std::max(0.0, tuples - seg_rows);
  double l0_pages = std::max(1.0, npages - seg_pages);
  exact_cost += l0_pages * seq_page_cost + l0_rows * (cpu_index_tuple_cost + cpu_operator_cost);
  *startup_cost = exact_cost + approx_cost;
  // Returning every row: exact tiers take about log2(rows/ef_search) further
  // passes (batches double), graphs expand every node. A plain ORDER BY
  // without LIMIT is therefore cheaper as a sort.
  double passes = std::max(0.0, std::log2((exact_rows + l0_rows + 1.0) / ef));
  *total_cost = *startup_cost + exact_cost * passes + approx_all + tuples * cpu_index_tuple_cost;
  *selectivity = 1.0;
  *correlation = 0;
  *pages = npages;
}

// The opclasses are the extension's own (src/sql/020_index.sql) and name
// their metric by their one support function, which build checks.
bool vecgovalidate(Oid opclassoid) {
  (void)opclassoid;
  return true;
}

char* vecgobuildphasename(int64 phase) {
  switch (phase) {
    case PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE: return const_cast<char*>("initializing");
    case 2: return const_cast<char*>("loading tuples");
    case 3: return const_cast<char*>("writing segments");
    case kSubphaseGraph: return const_cast<char*>("building graph");
  }
  return nullptr;
}

// Guarded entries (guard.h): the planner and the reloption parser call these.
bytea* vecgooptions(Datum reloptions, bool validate) {
  return Guard([&]() { return OptionsImpl(reloptions, validate); });
}

void vecgocostestimate(PlannerInfo* root, IndexPath* path, double loop_count, Cost* startup_cost,
                       Cost* total_cost, Selectivity* selectivity, double* correlation, double* pages) {
  Guard([&]() {
    CostEstimateImpl(root, path, loop_count, startup_cost, total_cost, selectivity, correlation, pages);
  });
}

}  // namespace

StoredOptions OptionsFromRelation(Relation index) {
  StoredOptions o;
  std::memset(&o, 0, sizeof(o));
  const Options* opts = reinterpret_cast<const Options*>(index->rd_options);
  o.m = opts ? opts->m : kDefaultM;
  o.ef_construction = opts ? opts->ef_construction : kDefaultEfConstruction;
  o.memtable_size_mb = opts ? opts->memtable_size : kDefaultMemtableMB;
  o.compaction_threshold = opts ? opts->compaction_threshold : kDefaultCompactionThreshold;
  o.diskann_threshold = opts ? opts->diskann_threshold : kDefaultDiskannThreshold;
  o.graph_degree = opts ? opts->graph_degree : kDefaultGraphDegree;
  o.build_list_size = opts ? opts->build_list_size : kDefaultBuildListSize;
  o.alpha = static_cast<float4>(opts ? opts->alpha : kDefaultAlpha);
  o.quantization = kQuantNone;
  if (opts && opts->quantization_offset != 0)
    o.quantization =
        ParseQuantization(reinterpret_cast<const char*>(opts) + opts->quantization_offset);
  return o;
}

float IndexDistance(uint8 metric, const float* a, const float* b, int dims, float qnorm) {
  (void)qnorm;
  const simd::Kernels& k = simd::active();
  std::size_t n = static_cast<std::size_t>(dims);
  switch (static_cast<Metric>(metric)) {
    case Metric::L2: return k.l2sq(a, b, n);
    case Metric::IP: return -k.dot(a, b, n);
    case Metric::L1: return k.l1(a, b, n);
    case Metric::Cosine: {
      float p[3];
      k.dot_norms(a, b, n, p);
      if (!(p[1] > 0.0f) || !(p[2] > 0.0f)) return INFINITY;
      double sim = static_cast<double>(p[0]) / std::sqrt(static_cast<double>(p[1]) * p[2]);
      if (sim > 1.0) sim = 1.0;
      if (sim < -1.0) sim = -1.0;
      return static_cast<float>(1.0 - sim);
    }
  }
  if (metric == kMetricJaccard) {
    // 0/1 vectors: dot = bits set in both, the squared norms the bits set in each.
    float p[3];
    k.dot_norms(a, b, n, p);
    if (p[0] == 0.0f) return 1.0f;
    return static_cast<float>(1.0 - static_cast<double>(p[0]) / (static_cast<double>(p[1]) + p[2] - p[0]));
  }
  return 0.0f;
}

double OperatorValue(const MetaData& meta, float dist) {
  if (meta.elem == kElemBit) return dist;  // Hamming (squared L2 of 0/1 vectors) or Jaccard
  switch (static_cast<Metric>(meta.metric)) {
    case Metric::L2: return std::sqrt(static_cast<double>(dist));
    case Metric::Cosine: return std::isinf(dist) ? get_float8_nan() : dist;
    default: return dist;
  }
}

}  // namespace vecgo::pg

extern "C" {
PG_FUNCTION_INFO_V1(vecgohandler);
PGDLLEXPORT Datum vecgohandler(PG_FUNCTION_ARGS);
}

Datum vecgohandler(PG_FUNCTION_ARGS) {
  (void)fcinfo;
  using namespace vecgo::pg;
  IndexAmRoutine* am = makeNode(IndexAmRoutine);
  am->amstrategies = 0;
  am->amsupport = 1;
  am->amoptsprocnum = 0;
  am->amcanorder = false;
  am->amcanorderbyop = true;
  am->amcanbackward = false;
  am->amcanunique = false;
  am->amcanmulticol = false;
  am->amoptionalkey = true;
  am->amsearcharray = false;
  am->amsearchnulls = false;
  am->amstorage = false;
  am->amclusterable = false;
  am->ampredlocks = false;
  am->amcanparallel = false;
  am->amcaninclude = false;
  am->amusemaintenanceworkmem = false;
  am->amparallelvacuumoptions = VACUUM_OPTION_PARALLEL_BULKDEL;
  am->amkeytype = InvalidOid;

  am->ambuild = vecgobuild;
  am->ambuildempty = vecgobuildempty;
  am->aminsert = vecgoinsert;
  am->ambulkdelete = vecgobulkdelete;
  am->amvacuumcleanup = vecgovacuumcleanup;
  am->amcanreturn = nullptr;
  am->amcostestimate = vecgocostestimate;
  am->amoptions = vecgooptions;
  am->amproperty = nullptr;
  am->ambuildphasename = vecgobuildphasename;
  am->amvalidate = vecgovalidate;
  am->amadjustmembers = nullptr;
  am->ambeginscan = vecgobeginscan;
  am->amrescan = vecgorescan;
  am->amgettuple = vecgogettuple;
  am->amgetbitmap = nullptr;
  am->amendscan = vecgoendscan;
  am->ammarkpos = nullptr;
  am->amrestrpos = nullptr;
  am->amestimateparallelscan = nullptr;
  am->aminitparallelscan = nullptr;
  am->amparallelrescan = nullptr;
  PG_RETURN_POINTER(am);
}
