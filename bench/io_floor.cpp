// weightdiff_io_floor: how fast can this machine read the input at all?
//
//   weightdiff_io_floor [--threads N] [--mode mmap|pread] [--json] FILE...
//
// Maps every FILE (MADV_SEQUENTIAL), treats them as one run of 64-bit words
// and gives each of N threads (default: CPUs in the affinity mask) a
// contiguous share to sum. A diff can not finish faster than this pass, so
// weightdiff's time is reported as a percentage of it. With --mode pread each
// thread reads its share through a 4 MiB buffer instead (no page faults).
// Prints bytes, seconds, GB/s (1 GB = 1e9 bytes); --json prints one JSON
// object instead. The checksum is printed so the reads can not be elided.

#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

struct Input {
    std::string path;
    int fd = -1;
    std::uint64_t size = 0;
    const unsigned char* map = nullptr;
};

[[noreturn]] void die(const std::string& msg) {
    std::fprintf(stderr, "weightdiff_io_floor: %s\n", msg.c_str());
    std::exit(2);
}

unsigned default_threads() {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return static_cast<unsigned>(n);
    }
    unsigned n = std::thread::hardware_concurrency();
    return n ? n : 1;
}

// Sums the 64-bit words of [p, p + n); a ragged tail is zero-extended.
std::uint64_t sum_words(const unsigned char* p, std::uint64_t n) {
    std::uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    std::uint64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        std::uint64_t w[4];
        std::memcpy(w, p + i, sizeof w);
        s0 += w[0];
        s1 += w[1];
        s2 += w[2];
        s3 += w[3];
    }
    for (; i + 8 <= n; i += 8) {
        std::uint64_t w;
        std::memcpy(&w, p + i, 8);
        s0 += w;
    }
    if (i < n) {
        std::uint64_t w = 0;
        std::memcpy(&w, p + i, n - i);
        s0 += w;
    }
    return s0 + s1 + s2 + s3;
}

// Byte range [begin, end) of the concatenated inputs, visited file by file.
template <class F>
void for_each_piece(const std::vector<Input>& in, std::uint64_t begin, std::uint64_t end, F&& f) {
    std::uint64_t base = 0;
    for (const Input& file : in) {
        std::uint64_t lo = std::max(begin, base), hi = std::min(end, base + file.size);
        if (lo < hi) f(file, lo - base, hi - lo);
        base += file.size;
        if (base >= end) break;
    }
}

}  // namespace

int main(int argc, char** argv) {
    unsigned threads = default_threads();
    bool use_pread = false, json = false;
    std::vector<Input> inputs;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--threads" && i + 1 < argc) {
            char* end = nullptr;
            long n = std::strtol(argv[++i], &end, 10);
            if (*end || n < 1 || n > 4096) die("--threads wants a number in 1..4096");
            threads = static_cast<unsigned>(n);
        } else if (arg == "--mode" && i + 1 < argc) {
            std::string_view m = argv[++i];
            if (m != "mmap" && m != "pread") die("--mode is mmap or pread");
            use_pread = m == "pread";
        } else if (arg == "--json") {
            json = true;
        } else if (arg == "-h" || arg == "--help") {
            std::puts("usage: weightdiff_io_floor [--threads N] [--mode mmap|pread] [--json] FILE...");
            return 0;
        } else if (arg.starts_with("-")) {
            die("unknown option " + std::string(arg));
        } else {
            inputs.push_back(Input{std::string(arg)});
        }
    }
    if (inputs.empty()) die("no input files (see --help)");

    auto t0 = std::chrono::steady_clock::now();
    std::uint64_t total = 0;
    for (Input& in : inputs) {
        in.fd = open(in.path.c_str(), O_RDONLY | O_CLOEXEC);
        if (in.fd < 0) die(in.path + ": " + std::strerror(errno));
        struct stat st{};
        if (fstat(in.fd, &st) != 0) die(in.path + ": " + std::strerror(errno));
        in.size = static_cast<std::uint64_t>(st.st_size);
        total += in.size;
        if (!use_pread && in.size > 0) {
            void* p = mmap(nullptr, in.size, PROT_READ, MAP_PRIVATE, in.fd, 0);
            if (p == MAP_FAILED) die(in.path + ": mmap: " + std::strerror(errno));
            madvise(p, in.size, MADV_SEQUENTIAL);
            in.map = static_cast<const unsigned char*>(p);
        }
    }

    // Shares are whole 64-bit words so that no word is split between threads.
    std::uint64_t words = (total + 7) / 8;
    std::vector<std::uint64_t> sums(threads, 0);
    std::atomic<bool> failed{false};
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            std::uint64_t begin = std::min(total, words * t / threads * 8);
            std::uint64_t end = std::min(total, words * (t + 1) / threads * 8);
            std::uint64_t s = 0;
            std::vector<unsigned char> buf(use_pread ? (4u << 20) : 0);
            for_each_piece(inputs, begin, end, [&](const Input& in, std::uint64_t off, std::uint64_t len) {
                if (!use_pread) {
                    s += sum_words(in.map + off, len);
                    return;
                }
                while (len > 0) {
                    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(len, buf.size()));
                    ssize_t got = pread(in.fd, buf.data(), want, static_cast<off_t>(off));
                    if (got <= 0) {
                        failed = true;
                        return;
                    }
                    s += sum_words(buf.data(), static_cast<std::uint64_t>(got));
                    off += static_cast<std::uint64_t>(got);
                    len -= static_cast<std::uint64_t>(got);
                }
            });
            sums[t] = s;
        });
    }
    for (std::thread& th : pool) th.join();
    std::uint64_t checksum = 0;
    for (std::uint64_t s : sums) checksum += s;
    for (Input& in : inputs) {
        if (in.map) munmap(const_cast<unsigned char*>(in.map), in.size);
        close(in.fd);
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (failed) die("a read failed (file shrank while reading?)");

    double gbps = seconds > 0 ? static_cast<double>(total) / seconds / 1e9 : 0.0;
    if (json) {
        std::printf("{\"bytes\": %llu, \"seconds\": %.6f, \"gbps\": %.4f, \"threads\": %u, "
                    "\"mode\": \"%s\", \"files\": %zu, \"checksum\": \"%016llx\"}\n",
                    static_cast<unsigned long long>(total), seconds, gbps, threads,
                    use_pread ? "pread" : "mmap", inputs.size(), static_cast<unsigned long long>(checksum));
    } else {
        std::printf("bytes %llu seconds %.6f GB/s %.4f threads %u mode %s checksum %016llx\n",
                    static_cast<unsigned long long>(total), seconds, gbps, threads,
                    use_pread ? "pread" : "mmap", static_cast<unsigned long long>(checksum));
    }
    return 0;
}
