// The segment's code book: trains, encodes, serializes and prepares query
// distancers for the segment's quantization.
#include "vecgo/vamana.h"

namespace vecgo {

namespace detail {

class CodecImpl {
 public:
  virtual ~CodecImpl() = default;
};

}  // namespace detail

VamanaCodec::VamanaCodec() = default;
VamanaCodec::~VamanaCodec() = default;
VamanaCodec::VamanaCodec(VamanaCodec&&) noexcept = default;
VamanaCodec& VamanaCodec::operator=(VamanaCodec&&) noexcept = default;
VamanaCodec::Query::Query() = default;
VamanaCodec::Query::~Query() = default;
VamanaCodec::Query::Query(Query&&) noexcept = default;
VamanaCodec::Query& VamanaCodec::Query::operator=(Query&&) noexcept = default;

VamanaCodec VamanaCodec::Train(VamanaQuantization kind, Metric, const float*, std::size_t, std::size_t,
                               std::uint32_t, std::size_t, std::uint64_t) {
  if (kind != VamanaQuantization::None)
    throw Error(Error::Kind::FeatureNotSupported, "Vamana: quantization not available yet");
  return VamanaCodec();
}

void VamanaCodec::Encode(const float*, std::uint8_t*) const {}

std::vector<std::uint8_t> VamanaCodec::Serialize() const { return {}; }

VamanaCodec VamanaCodec::Deserialize(VamanaQuantization kind, Metric, std::size_t, const std::uint8_t*,
                                     std::size_t len) {
  if (kind != VamanaQuantization::None || len != 0) detail::VamanaCorrupt("unknown quantizer");
  return VamanaCodec();
}

void VamanaCodec::Query::Prepare(const VamanaCodec&, const float*) {}

}  // namespace vecgo
