# vecgo — PGXS build of a C++17 extension.
#
#   make                 build the extension (vecgo.so)
#   make install         install into the PostgreSQL found by PG_CONFIG
#   make NOASM=1         scalar kernels only
#   make core-tests      build and run the core unit tests (GoogleTest)
#   make tsan            core concurrency tests under ThreadSanitizer
#   make bench-kernels   kernel benchmark (ns per distance, every level)
#   make bench           end-to-end GloVe-100 benchmark, vecgo vs pgvector (bench-stream, bench-wide)
#   make bench-mixed     sustained mixed load (inserts, searches, deletes), vecgo vs pgvector
#   make bench-halfvec   halfvec against vector columns on GloVe-100 (size, build, q/s), both engines
#   make bench-shard     one server against a coordinator + 2 postgres_fdw shards (scripts/shard-demo.sh)
#   make installcheck    pg_regress against a running server
#   make format          clang-format every source file

EXTENSION  = vecgo
MODULE_big = vecgo
# The install script is assembled from src/sql/*.sql (one file per concern).
# Released versions: every earlier version's install script is kept frozen in
# src/sql/released/, and each release adds one upgrade script, so that
# ALTER EXTENSION vecgo UPDATE works from every one of them. Objects new in
# 0.2.0 live in src/sql/1NN_*.sql; the 0.1.0 -> 0.2.0 script is those files.
EXT_VERSION = 0.2.0
EXT_SCRIPT  = sql/vecgo--$(EXT_VERSION).sql
SQL_ALL     = $(sort $(wildcard src/sql/*.sql))
SQL_0_2_0   = $(sort $(wildcard src/sql/1[0-9][0-9]_*.sql))
UPGRADE_SCRIPTS = sql/vecgo--0.1.0--0.2.0.sql
RELEASED_SCRIPTS = sql/vecgo--0.1.0.sql
DATA_built  = $(EXT_SCRIPT) $(UPGRADE_SCRIPTS) $(RELEASED_SCRIPTS)
PG_CONFIG ?= pg_config

ARCH := $(shell uname -m)

CORE_SRCS := $(wildcard src/core/*.cpp)
PG_SRCS   := $(wildcard src/pg/*.cpp)
SIMD_SRCS := src/core/simd/scalar.cpp src/core/simd/dispatch.cpp
ifndef NOASM
ifeq ($(ARCH),x86_64)
SIMD_SRCS += src/core/simd/sse42.cpp src/core/simd/avx2.cpp src/core/simd/avx512.cpp
endif
ifeq ($(ARCH),aarch64)
SIMD_SRCS += src/core/simd/neon.cpp
endif
endif

CORE_OBJS := $(CORE_SRCS:.cpp=.o) $(SIMD_SRCS:.cpp=.o)
OBJS       = $(CORE_OBJS) $(PG_SRCS:.cpp=.o)

REGRESS      = $(patsubst sql/%.sql,%,$(filter-out sql/vecgo--%.sql,$(wildcard sql/*.sql)))
REGRESS_OPTS = --inputdir=. --load-extension=vecgo

# Debian's PGXS would emit LLVM bitcode for every .cpp; the extension has no use for JIT inlining.
override with_llvm := no

PG_INCLUDEDIR_SERVER := $(shell $(PG_CONFIG) --includedir-server)
PG_CPPFLAGS = -I$(CURDIR)/include -isystem $(PG_INCLUDEDIR_SERVER)
ifdef NOASM
PG_CPPFLAGS += -DVECGO_NOASM
endif
PG_CXXFLAGS = -std=c++17 -Wall -Wextra -Wno-register -Wno-missing-field-initializers -fno-math-errno \
              -fvisibility=hidden -fvisibility-inlines-hidden
SHLIB_LINK  = -lstdc++ -lpthread

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS's CXXFLAGS carry flags only a C compiler accepts on some builds.
override CXXFLAGS := $(filter-out -Wmissing-prototypes -Wdeclaration-after-statement,$(CXXFLAGS))

# Per-instruction-set flags: only these files may contain those instructions.
SIMD_SSE42_FLAGS  = -msse4.2 -mpopcnt
SIMD_AVX2_FLAGS   = -mavx2 -mfma -mf16c -mpopcnt
SIMD_AVX512_FLAGS = -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma -mf16c -mpopcnt
src/core/simd/sse42.o:  override CXXFLAGS += $(SIMD_SSE42_FLAGS)
src/core/simd/avx2.o:   override CXXFLAGS += $(SIMD_AVX2_FLAGS)
src/core/simd/avx512.o: override CXXFLAGS += $(SIMD_AVX512_FLAGS)
src/core/simd/sse42.o src/core/simd/avx2.o src/core/simd/avx512.o src/core/simd/neon.o: src/core/simd/kernels_impl.h src/core/simd/half_bits.h
src/core/simd/scalar.o: src/core/simd/half_bits.h

$(EXT_SCRIPT): $(SQL_ALL)
	cat $^ > $@

sql/vecgo--0.1.0--0.2.0.sql: src/sql/upgrade/header.sql $(SQL_0_2_0)
	sed 's/@FROM@/0.1.0/; s/@TO@/0.2.0/' src/sql/upgrade/header.sql > $@
	$(if $(SQL_0_2_0),cat $(SQL_0_2_0) >> $@)

sql/vecgo--%.sql: src/sql/released/vecgo--%.sql
	cp $< $@

$(OBJS): $(wildcard include/vecgo/*.h) $(wildcard src/pg/*.h) $(wildcard src/core/*.h)

# ---------------------------------------------------------------- core tests
GTEST_LIBS  = -lgtest -lgtest_main -lpthread
CORE_TEST_SRCS := $(wildcard test/core/*.cpp)
CORE_TEST_OBJS := $(CORE_TEST_SRCS:.cpp=.o)
TEST_CXXFLAGS  = -std=c++17 -O2 -g -Wall -Wextra -I$(CURDIR)/include -fno-math-errno $(if $(NOASM),-DVECGO_NOASM)

test/core/%.o: test/core/%.cpp $(wildcard include/vecgo/*.h) $(wildcard test/core/*.h)
	$(CXX) $(TEST_CXXFLAGS) -c -o $@ $<

test/core/vecgo_core_tests: $(CORE_TEST_OBJS) $(CORE_OBJS)
	$(CXX) -o $@ $^ $(GTEST_LIBS)

# Fuzz-style I/O test: a libpq client feeding random text and binary input.
test/fuzz/fuzz_io: test/fuzz/fuzz_io.cpp
	$(CXX) $(TEST_CXXFLAGS) -I$(shell $(PG_CONFIG) --includedir) -o $@ $< -L$(shell $(PG_CONFIG) --libdir) -lpq

.PHONY: fuzz-io
fuzz-io: test/fuzz/fuzz_io
	./test/fuzz/fuzz_io $(FUZZ_ARGS)

# The core headers refuse to compile after postgres.h: check that they do.
.PHONY: check-headers
check-headers:
	@if $(CXX) -std=c++17 -fsyntax-only -I$(CURDIR)/include -I$(PG_INCLUDEDIR_SERVER) \
	    test/compile/postgres_first.cpp 2>&1 | grep -q "core headers must be included before postgres.h"; \
	then echo "ok: core headers refuse postgres.h"; \
	else echo "FAIL: a core header compiled after postgres.h"; exit 1; fi

.PHONY: core-tests tsan bench-kernels format
core-tests: test/core/vecgo_core_tests
	./test/core/vecgo_core_tests $(GTEST_ARGS)

# ThreadSanitizer build of the core and its tests, in its own directory.
TSAN_DIR = build/tsan
tsan:
	mkdir -p $(TSAN_DIR)
	$(CXX) $(TEST_CXXFLAGS) -fsanitize=thread -O1 -o $(TSAN_DIR)/vecgo_core_tests_tsan \
	  $(CORE_SRCS) src/core/simd/scalar.cpp src/core/simd/dispatch.cpp -DVECGO_NOASM \
	  $(CORE_TEST_SRCS) $(GTEST_LIBS)
	TSAN_OPTIONS=halt_on_error=1 $(TSAN_DIR)/vecgo_core_tests_tsan --gtest_filter='*Concurren*:*Thread*:VamanaShared.*'

bench/%: bench/%.cpp $(CORE_OBJS)
	$(CXX) $(TEST_CXXFLAGS) -o $@ $^ -lpthread

bench-kernels: bench/bench_kernels
	./bench/bench_kernels

# End-to-end benchmarks on GloVe-100 against a throwaway cluster (after make install).
LIBPQ_FLAGS = -I$(shell $(PG_CONFIG) --includedir) -L$(shell $(PG_CONFIG) --libdir) -lpq -lpthread
bench/bench_index: bench/bench_index.cpp bench/bench_common.h $(CORE_OBJS)
	$(CXX) $(TEST_CXXFLAGS) -o $@ $(filter-out %.h,$^) $(LIBPQ_FLAGS)
bench/bench_mixed: bench/bench_mixed.cpp bench/bench_common.h $(CORE_OBJS)
	$(CXX) $(TEST_CXXFLAGS) -o $@ $(filter-out %.h,$^) $(LIBPQ_FLAGS)
bench/bench_shard: bench/bench_shard.cpp bench/bench_common.h $(CORE_OBJS)
	$(CXX) $(TEST_CXXFLAGS) -o $@ $(filter-out %.h,$^) $(LIBPQ_FLAGS)

.PHONY: bench bench-stream bench-wide bench-mixed bench-halfvec
bench: bench/bench_index
	bash bench/run_bench.sh $(BENCH_ARGS)

# Streaming ingest into an indexed table (COPY in 1,000-row transactions),
# recall/queries/s fresh and after 60 s idle, vecgo's tiers (GloVe-100, 100k rows).
# halfvec columns (halfvec_cosine_ops) against vector ones on GloVe-100, both
# engines: index size, build time, the sweep (bench/results/summary.txt).
bench-halfvec: bench/bench_index
	bash bench/run_bench.sh --types vector,halfvec $(BENCH_ARGS)

bench-stream: bench/bench_index
	bash bench/run_bench.sh --mode stream $(BENCH_ARGS)

# 768-d vectors (a generated, clustered set of 50k rows), CREATE INDEX with defaults.
bench-wide: bench/bench_index
	bash bench/run_bench.sh --mode wide $(BENCH_ARGS)

# Sustained mixed load, --duration seconds (600) per engine: 4 inserting, 2
# searching and 1 deleting client with autovacuum on; inserts/s, searches/s,
# recall@10 and vecgo's segments over time (bench/results/mixed_*).
bench-mixed: bench/bench_mixed
	bash bench/run_bench.sh --mode mixed $(BENCH_ARGS)

# One server with every GloVe-100 row against a coordinator whose table is
# hash-partitioned over 2 postgres_fdw shards, all throwaway clusters on this
# machine (ports 5520-5523): q/s, latency, rows per shard (needs `make install`).
.PHONY: bench-shard
bench-shard: bench/bench_shard
	bash scripts/shard-demo.sh $(BENCH_ARGS)

# The distance operators through SQL, per instruction set (needs `make install`).
.PHONY: bench-sql-kernels
bench-sql-kernels:
	bash bench/bench_sql_kernels.sh

format:
	clang-format -i $(wildcard include/vecgo/*.h src/core/*.cpp src/core/simd/*.cpp src/pg/*.cpp src/pg/*.h test/core/*.cpp test/core/*.h bench/*.cpp)

EXTRA_CLEAN = test/fuzz/fuzz_io test/core/*.o test/core/vecgo_core_tests build bench/bench_kernels bench/bench_index bench/bench_mixed bench/bench_shard bench/bench_core results regression.diffs regression.out
