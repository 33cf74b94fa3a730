// vecgo_verify's check: the manifest against what every tier's pages say.
//
// Each tier walks its own pages (TierOps::verify) and reports what it found;
// this file checks the manifest itself (ids, kinds, counts), compares each
// tier's findings with its manifest entry, and checks that no block belongs
// to two chains, the replaced chains waiting to be recycled included.
#include <cstring>

#include "guard.h"
#include "am.h"

namespace vecgo::pg {

namespace {

[[noreturn]] void Corrupt(Relation index, const char* fmt, const char* what, uint64 a, uint64 b) {
  char buf[512];
  snprintf(buf, sizeof(buf), fmt, what, static_cast<unsigned long long>(a),
           static_cast<unsigned long long>(b));
  Raise(ERRCODE_INDEX_CORRUPTED, "vecgo index \"%s\" is corrupted: %s", RelationGetRelationName(index), buf);
}

// Live rows must point into the table: the executor would read a block
// past its end (InvalidBlockNumber extending it). Read after the walk: on a
// hot standby (where the check holds AccessShareLock only) replay may add
// rows meanwhile, each after its heap tuple.
void CheckHeapBlocks(Relation index, Relation heap, const char* what, const TierFacts& f) {
  if (f.max_heap_block == 0) return;
  const BlockNumber heap_blocks = RelationGetNumberOfBlocks(heap);
  if (f.max_heap_block >= heap_blocks)
    Raise(ERRCODE_INDEX_CORRUPTED,
          "vecgo index \"%s\" is corrupted: %s: a live row points to block %u of table \"%s\", "
          "which has %u blocks",
          RelationGetRelationName(index), what, f.max_heap_block, RelationGetRelationName(heap),
          heap_blocks);
}

}  // namespace

void VerifyIndex(Relation index, Relation heap) {
  MetaData* meta = static_cast<MetaData*>(palloc(sizeof(MetaData)));
  ReadMeta(index, meta);
  const BlockNumber nblocks = RelationGetNumberOfBlocks(index);
  char* claimed = static_cast<char*>(palloc0(nblocks + 1));
  claimed[kMetaBlock] = 1;
  TierFacts f;

  // The L0 log: a Flat chain whose head page holds its page count and tail.
  if (meta->l0_id == 0 || meta->l0_id >= meta->next_segment_id)
    Corrupt(index, "%s id %llu out of range (next id %llu)", "L0 log", meta->l0_id, meta->next_segment_id);
  const SegmentEntry l0 = L0Entry(*meta);
  kFlatTierOps.verify(index, *meta, l0, claimed, nblocks, &f);
  if (f.head_npages != f.pages) Corrupt(index, "%s: head page counts %llu pages, chain has %llu", "L0 log", f.head_npages, f.pages);
  if (f.head_tail != f.tail) Corrupt(index, "%s: tail hint %llu, actual tail %llu", "L0 log", f.head_tail, f.tail);
  if (f.deleted != meta->l0_deleted)
    Corrupt(index, "%s: %llu deleted rows, manifest says %llu", "L0 log", f.deleted, meta->l0_deleted);
  CheckHeapBlocks(index, heap, "L0 log", f);

  for (uint32 i = 0; i < meta->nsegments; i++) {
    const SegmentEntry& s = meta->segments[i];
    if (s.id == 0 || s.id >= meta->next_segment_id || s.id == meta->l0_id)
      Corrupt(index, "%s id %llu out of range (next id %llu)", "segment", s.id, meta->next_segment_id);
    for (uint32 j = 0; j < i; j++)
      if (meta->segments[j].id == s.id) Corrupt(index, "%s id %llu listed twice (%llu)", "segment", s.id, 0);
    if (s.deleted > s.rows) Corrupt(index, "%s has %llu deleted of %llu rows", "segment", s.deleted, s.rows);
    const TierOps& ops = TierOpsOf(index, s.kind);
    ops.verify(index, *meta, s, claimed, nblocks, &f);
    char what[64];
    snprintf(what, sizeof(what), "%s segment %u", ops.name, s.id);
    if (s.npages != f.pages) Corrupt(index, "%s: manifest says %llu pages, chain has %llu", what, s.npages, f.pages);
    if (s.tail != f.tail) Corrupt(index, "%s: manifest tail %llu, actual tail %llu", what, s.tail, f.tail);
    if (s.rows != f.rows) Corrupt(index, "%s: manifest says %llu rows, chain has %llu", what, s.rows, f.rows);
    if (s.deleted != f.deleted)
      Corrupt(index, "%s: manifest says %llu deleted rows, chain has %llu", what, s.deleted, f.deleted);
    CheckHeapBlocks(index, heap, what, f);
  }

  // Replaced chains waiting to be recycled must not overlap live ones.
  for (uint32 i = 0; i < meta->npending; i++) {
    BlockNumber blk = meta->pending[i].head;
    for (uint32 k = 0; k < meta->pending[i].npages && blk != InvalidBlockNumber; k++) {
      CHECK_FOR_INTERRUPTS();
      if (blk >= nblocks || claimed[blk])
        Corrupt(index, "%s: pending chain block %llu overlaps (claimed %llu)", "manifest", blk,
                blk < nblocks ? claimed[blk] : 0);
      claimed[blk] = 1;
      Buffer buf = ReadBuffer(index, blk);
      LockBuffer(buf, BUFFER_LOCK_SHARE);
      PageOpaque o = *GetOpaque(BufferGetPage(buf));
      UnlockReleaseBuffer(buf);
      if (o.segment_id != meta->pending[i].segment_id)
        Corrupt(index, "%s: pending block %llu belongs to segment %llu", "manifest", blk, o.segment_id);
      blk = o.next;
    }
  }
  pfree(claimed);
  pfree(meta);
}

}  // namespace vecgo::pg
