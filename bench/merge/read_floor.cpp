// Read floor of bench/merge: every rank streams its row block of every tensor of every input
// safetensors file through a read-only mmap, tensor by tensor as `moerge merge` does, and sums the
// bf16 bit patterns (no conversion, no merge math, nothing written). Prints bytes, seconds, GB/s.
//
// usage: mpirun -np N moerge_read_floor [--release] FILE.safetensors...
//   --release: MADV_DONTNEED each tensor's pages after reading them (resident memory stays small).
#include <mpi.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

struct TensorSpan {
  std::uint64_t begin = 0;  // byte offset in the file
  std::uint64_t n_byte = 0;
  std::uint64_t n_row = 0;  // shape[0], 1 for a vector or scalar
};

struct MappedFile {
  std::string path;
  const unsigned char* data = nullptr;
  std::uint64_t size = 0;
  std::map<std::string, TensorSpan> tensors;  // by name: the engine's order
};

MappedFile map_file(const std::string& path) {
  MappedFile file{path, nullptr, 0, {}};
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(path + ": cannot open: " + std::strerror(errno));
  struct stat info{};
  if (::fstat(fd, &info) != 0 || info.st_size < 8) throw std::runtime_error(path + ": not a safetensors file");
  file.size = static_cast<std::uint64_t>(info.st_size);
  void* mapping = ::mmap(nullptr, file.size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (mapping == MAP_FAILED) throw std::runtime_error(path + ": cannot mmap: " + std::strerror(errno));
  file.data = static_cast<const unsigned char*>(mapping);
  std::uint64_t header_size = 0;
  std::memcpy(&header_size, file.data, 8);
  if (header_size > file.size - 8) throw std::runtime_error(path + ": header size " + std::to_string(header_size) + " beyond the file");
  const auto header = nlohmann::json::parse(file.data + 8, file.data + 8 + header_size);
  const std::uint64_t data_offset = 8 + header_size;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    const auto offsets = entry.at("data_offsets").get<std::vector<std::uint64_t>>();
    const auto shape = entry.at("shape").get<std::vector<std::uint64_t>>();
    if (entry.at("dtype").get<std::string>() != "BF16")
      throw std::runtime_error(path + ": tensor '" + name + "' is not BF16");
    if (offsets.size() != 2 || offsets[1] < offsets[0] || data_offset + offsets[1] > file.size)
      throw std::runtime_error(path + ": tensor '" + name + "' has bad data_offsets");
    file.tensors[name] = TensorSpan{data_offset + offsets[0], offsets[1] - offsets[0], shape.size() >= 2 ? shape[0] : 1};
  }
  return file;
}

/// Sum of the bf16 bit patterns of bytes [begin, end): forces every byte through the CPU.
std::uint64_t touch(const unsigned char* data, std::uint64_t n_byte) {
  const auto* values = reinterpret_cast<const std::uint16_t*>(data);
  std::uint64_t sum = 0;
  for (std::uint64_t idx = 0; idx < n_byte / 2; ++idx) sum += values[idx];
  return sum;
}

void release(const unsigned char* data, std::uint64_t n_byte) {
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<std::uintptr_t>(data);
  const std::uintptr_t first = (begin + page - 1) / page * page;
  const std::uintptr_t last = (begin + n_byte) / page * page;
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, n_rank = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &n_rank);
  try {
    bool do_release = false;
    std::vector<MappedFile> files;
    for (int arg_idx = 1; arg_idx < argc; ++arg_idx) {
      const std::string arg = argv[arg_idx];
      if (arg == "--release") do_release = true;
      else files.push_back(map_file(arg));
    }
    if (files.empty()) throw std::runtime_error("usage: moerge_read_floor [--release] FILE.safetensors...");
    MPI_Barrier(MPI_COMM_WORLD);
    const double start = MPI_Wtime();
    std::uint64_t checksum = 0, n_byte_read = 0;
    for (const auto& [name, first_span] : files.front().tensors) {
      const auto size = static_cast<std::uint64_t>(n_rank);
      const auto me = static_cast<std::uint64_t>(rank);
      const std::uint64_t row_begin = first_span.n_row * me / size, row_end = first_span.n_row * (me + 1) / size;
      for (const MappedFile& file : files) {
        const auto found = file.tensors.find(name);
        if (found == file.tensors.end()) throw std::runtime_error(file.path + ": has no tensor '" + name + "'");
        const TensorSpan& span = found->second;
        const std::uint64_t row_bytes = span.n_byte / span.n_row;
        const unsigned char* data = file.data + span.begin + row_begin * row_bytes;
        const std::uint64_t n_byte = (row_end - row_begin) * row_bytes;
        checksum += touch(data, n_byte);
        n_byte_read += n_byte;
        if (do_release) release(data, n_byte);
      }
    }
    MPI_Barrier(MPI_COMM_WORLD);
    const double seconds = MPI_Wtime() - start;
    std::uint64_t total_bytes = 0, total_checksum = 0;
    MPI_Reduce(&n_byte_read, &total_bytes, 1, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Reduce(&checksum, &total_checksum, 1, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0)
      std::printf("bytes %llu seconds %.6f gb_per_s %.6f checksum %llu\n", static_cast<unsigned long long>(total_bytes),
                  seconds, static_cast<double>(total_bytes) / 1e9 / seconds, static_cast<unsigned long long>(total_checksum));
    for (const MappedFile& file : files) ::munmap(const_cast<unsigned char*>(file.data), file.size);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "[rank %d] moerge_read_floor: %s\n", rank, error.what());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  MPI_Finalize();
  return 0;
}
