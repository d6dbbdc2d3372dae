// The fused DDCL assignment on NVIDIA GPUs: forward and backward of the CustomOp3 pair in
// src/fused/op.rs, with the output layout of src/fused/planes.rs and the mathematics of
// src/fused/forward.rs and src/fused/backward.rs (docs/math.md). Inputs are f32, bf16 or f16;
// every product and reduction accumulates in f32 (the loss means in f64). Every kernel is
// deterministic: no atomics, fixed reduction orders.
//
// Work space `ws` (f32), written by ddcl_protos_* and ddcl_pairs_*:
//   [0, D)                  c, the mean prototype
//   [D, D + K D)            P' = P - c, (K, D)
//   then (K, K)             G' = P' P'^T (its diagonal: the norms ||p'_k||^2)
//   then (K, K)             Dp, pairwise distances ||p_j - p_l||^2
//   then 1                  the number of real tokens
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

namespace {

// An expanded squared distance below this share of its two norms is recomputed from
// differences (src/fused/distance.rs: CANCEL).
constexpr float CANCEL = 0.25f;
// Threads per block of every kernel but the reductions' single blocks.
constexpr int THREADS = 256;
// Tiles of the products: KC prototypes (or output columns) by DC inner values.
constexpr int KC = 64;
constexpr int DC = 32;
constexpr int MAX_ROWS = 32;

__device__ __forceinline__ float to_f(float x) { return x; }
__device__ __forceinline__ float to_f(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ __forceinline__ float to_f(__half x) { return __half2float(x); }

template <typename T> __device__ __forceinline__ T from_f(float x);
template <> __device__ __forceinline__ float from_f<float>(float x) { return x; }
template <> __device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float x) {
    return __float2bfloat16(x);
}
template <> __device__ __forceinline__ __half from_f<__half>(float x) { return __float2half(x); }

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_min(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fminf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Offsets into the work space.
struct Ws {
    int64_t k, d;
    __device__ int64_t centred() const { return d; }
    __device__ int64_t gram() const { return d + k * d; }
    __device__ int64_t pairs() const { return d + k * d + k * k; }
    __device__ int64_t count() const { return d + k * d + 2 * k * k; }
};

// c and P' = P - c: one thread per column i.
template <typename T>
__device__ void protos(const T* p, int k, int d, float* ws) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= d) return;
    Ws w{k, d};
    float s = 0.f;
    for (int j = 0; j < k; ++j) s += to_f(p[(int64_t)j * d + i]);
    float c = s / (float)k;
    ws[i] = c;
    for (int j = 0; j < k; ++j) ws[w.centred() + (int64_t)j * d + i] = to_f(p[(int64_t)j * d + i]) - c;
}

// G' and Dp: one warp per pair (j, l) with j <= l, mirrored.
template <typename T>
__device__ void pairs(const T* p, int k, int d, float* ws) {
    int64_t pair = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) / 32;
    int lane = threadIdx.x % 32;
    if (pair >= (int64_t)k * k) return;
    int j = (int)(pair / k), l = (int)(pair % k);
    if (j > l) return;
    Ws w{k, d};
    const float* pj = ws + w.centred() + (int64_t)j * d;
    const float* pl = ws + w.centred() + (int64_t)l * d;
    float g = 0.f, nj = 0.f, nl = 0.f, exact = 0.f;
    for (int i = lane; i < d; i += 32) {
        g += pj[i] * pl[i];
        nj += pj[i] * pj[i];
        nl += pl[i] * pl[i];
        float x = to_f(p[(int64_t)j * d + i]) - to_f(p[(int64_t)l * d + i]);
        exact += x * x;
    }
    g = warp_sum(g);
    nj = warp_sum(nj);
    nl = warp_sum(nl);
    exact = warp_sum(exact);
    if (lane != 0) return;
    float expanded = nj + nl - 2.f * g;
    float dist = j == l ? 0.f : (expanded < CANCEL * (nj + nl) ? exact : expanded);
    ws[w.gram() + (int64_t)j * k + l] = g;
    ws[w.gram() + (int64_t)l * k + j] = g;
    ws[w.pairs() + (int64_t)j * k + l] = dist;
    ws[w.pairs() + (int64_t)l * k + j] = dist;
}

// The number of real tokens into the work space: one block.
template <typename T>
__device__ void count(const T* mask, int64_t n, float* out) {
    __shared__ float part[THREADS];
    float c = 0.f;
    for (int64_t t = threadIdx.x; t < n; t += blockDim.x) c += to_f(mask[t]) != 0.f ? 1.f : 0.f;
    part[threadIdx.x] = c;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) part[threadIdx.x] += part[threadIdx.x + s];
        __syncthreads();
    }
    if (threadIdx.x == 0) *out = part[0];
}

// Forward, one block of `rows` tokens (rows <= MAX_ROWS, rows * K * 12 bytes of dynamic shared
// memory): a = (h - c) P'^T by tiles, then one warp per token for d, q and the loss terms.
// `out` is zero-filled; padding tokens keep their zeros and their hidden states are not read.
template <typename T>
__device__ void forward(const T* h, const T* p, const T* mask, const float* ws, int64_t n, int k,
                        int d, int rows, float tau, T* out) {
    extern __shared__ float dyn[];
    float* sa = dyn;                        // a, (rows, K)
    float* sd = dyn + (int64_t)rows * k;    // d
    float* sq = dyn + 2 * (int64_t)rows * k; // q
    __shared__ float hs[MAX_ROWS][DC + 1];
    __shared__ float ps[KC][DC + 1];
    __shared__ float hh[MAX_ROWS];
    __shared__ float real[MAX_ROWS];
    Ws w{k, d};
    const float* center = ws;
    const float* centred = ws + w.centred();
    const float* gram = ws + w.gram();
    const float* pair = ws + w.pairs();
    const int64_t first = (int64_t)blockIdx.x * rows;
    const int tid = threadIdx.x;
    if (tid < rows) {
        int64_t t = first + tid;
        real[tid] = (t < n && to_f(mask[t]) != 0.f) ? 1.f : 0.f;
    }
    __syncthreads();
    // ||h - c||^2: eight threads per row, each a quarter of every DC chunk, summed by shuffles
    float hh_part = 0.f;
    const int col = tid % KC, group = tid / KC;  // THREADS / KC = 4 row groups
    for (int k0 = 0; k0 < k; k0 += KC) {
        float acc[MAX_ROWS / 4];
#pragma unroll
        for (int j = 0; j < MAX_ROWS / 4; ++j) acc[j] = 0.f;
        for (int d0 = 0; d0 < d; d0 += DC) {
            for (int e = tid; e < MAX_ROWS * DC; e += THREADS) {
                int r = e / DC, i = e % DC;
                float v = 0.f;
                if (r < rows && real[r] != 0.f && d0 + i < d)
                    v = to_f(h[(first + r) * d + d0 + i]) - center[d0 + i];
                hs[r][i] = v;
            }
            for (int e = tid; e < KC * DC; e += THREADS) {
                int j = e / DC, i = e % DC;
                ps[j][i] = (k0 + j < k && d0 + i < d) ? centred[(int64_t)(k0 + j) * d + d0 + i] : 0.f;
            }
            __syncthreads();
            if (k0 == 0 && tid < MAX_ROWS * 8) {
                int r = tid / 8, q4 = (tid % 8) * (DC / 8);
#pragma unroll
                for (int i = 0; i < DC / 8; ++i) hh_part += hs[r][q4 + i] * hs[r][q4 + i];
            }
#pragma unroll 8
            for (int i = 0; i < DC; ++i) {
                float pv = ps[col][i];
#pragma unroll
                for (int j = 0; j < MAX_ROWS / 4; ++j) acc[j] += hs[group + 4 * j][i] * pv;
            }
            __syncthreads();
        }
#pragma unroll
        for (int j = 0; j < MAX_ROWS / 4; ++j) {
            int r = group + 4 * j;
            if (r < rows && k0 + col < k) sa[(int64_t)r * k + k0 + col] = acc[j];
        }
        if (k0 == 0) {
            for (int o = 4; o > 0; o >>= 1) hh_part += __shfl_xor_sync(0xffffffffu, hh_part, o);
            if (tid < MAX_ROWS * 8 && tid % 8 == 0) hh[tid / 8] = hh_part;
        }
    }
    __syncthreads();
    const int warp = tid / 32, lane = tid % 32, warps = THREADS / 32;
    const int64_t plane = n * k;
    for (int r = warp; r < rows; r += warps) {
        if (real[r] == 0.f) continue;
        const int64_t t = first + r;
        const T* ht = h + t * d;
        const float hr = hh[r];
        float* a = sa + (int64_t)r * k;
        float* dist = sd + (int64_t)r * k;
        float* q = sq + (int64_t)r * k;
        float dmin = INFINITY;
        for (int j = lane; j < k; j += 32) {
            float nj = gram[(int64_t)j * k + j];
            float expanded = hr - 2.f * a[j] + nj;
            float v = expanded;
            if (expanded < CANCEL * (hr + nj)) {
                v = 0.f;
                for (int i = 0; i < d; ++i) {
                    float x = to_f(ht[i]) - to_f(p[(int64_t)j * d + i]);
                    v += x * x;
                }
            }
            dist[j] = v;
            dmin = fminf(dmin, v);
        }
        dmin = warp_min(dmin);
        float z = 0.f;
        for (int j = lane; j < k; j += 32) {
            float e = expf(-(dist[j] - dmin) / tau);
            q[j] = e;
            z += e;
        }
        z = warp_sum(z);
        __syncwarp();
        float sigma = 0.f, l_sq = 0.f, qa = 0.f, var = 0.f, qgq = 0.f;
        for (int j = lane; j < k; j += 32) {
            float qj = q[j] / z;
            q[j] = qj;
            out[t * k + j] = from_f<T>(qj);
            out[plane + t * k + j] = from_f<T>(dist[j]);
        }
        __syncwarp();
        for (int j = lane; j < k; j += 32) {
            float qj = q[j];
            float dq = 0.f, gq = 0.f;
            for (int l = 0; l < k; ++l) {
                dq += pair[(int64_t)j * k + l] * q[l];
                gq += gram[(int64_t)j * k + l] * q[l];
            }
            sigma += qj;
            l_sq += qj * dist[j];
            qa += qj * a[j];
            var += qj * dq;
            qgq += qj * gq;
        }
        sigma = warp_sum(sigma);
        l_sq = warp_sum(l_sq);
        qa = warp_sum(qa);
        var = 0.5f * warp_sum(var);
        qgq = warp_sum(qgq);
        float hh_s = sigma * sigma * hr;
        float l_ols = hh_s - 2.f * sigma * qa + qgq;
        if (l_ols < CANCEL * (hh_s + qgq)) {
            // ||sum_j q_j (h - p_j)||^2 from differences
            float e2 = 0.f;
            for (int i = lane; i < d; i += 32) {
                float x = to_f(ht[i]), e = 0.f;
                for (int j = 0; j < k; ++j) e += q[j] * (x - to_f(p[(int64_t)j * d + i]));
                e2 += e * e;
            }
            l_ols = warp_sum(e2);
        }
        if (lane == 0) {
            T* terms = out + 2 * plane + t * 3;
            terms[0] = from_f<T>(l_sq);
            terms[1] = from_f<T>(l_ols);
            terms[2] = from_f<T>(var);
        }
    }
}

// The masked means of the three loss terms, closing the forward's output: one block, the sums
// in f64 in a fixed order.
template <typename T>
__device__ void means(const T* mask, int64_t n, int k, T* out) {
    __shared__ double part[3][THREADS];
    __shared__ float cnt[THREADS];
    const T* terms = out + 2 * n * k;
    double s[3] = {0.0, 0.0, 0.0};
    float c = 0.f;
    for (int64_t t = threadIdx.x; t < n; t += blockDim.x) {
        c += to_f(mask[t]) != 0.f ? 1.f : 0.f;
        for (int j = 0; j < 3; ++j) s[j] += (double)to_f(terms[t * 3 + j]);
    }
    for (int j = 0; j < 3; ++j) part[j][threadIdx.x] = s[j];
    cnt[threadIdx.x] = c;
    __syncthreads();
    for (int w = blockDim.x / 2; w > 0; w >>= 1) {
        if (threadIdx.x < w) {
            for (int j = 0; j < 3; ++j) part[j][threadIdx.x] += part[j][threadIdx.x + w];
            cnt[threadIdx.x] += cnt[threadIdx.x + w];
        }
        __syncthreads();
    }
    if (threadIdx.x < 3)
        out[2 * n * k + 3 * n + threadIdx.x] =
            from_f<T>((float)(part[threadIdx.x][0] / fmax((double)cnt[0], 1.0)));
}

// Backward, one warp per token: from q, d and the upstream gradients, the per-token
// A = w + g_ols q (N, K), S = w + g_v q (N, K), C = (g_ols - g_v) q (N, K), Qf = q (N, K) and
// alpha = 2 sum_k A (N) of src/fused/backward.rs, then ones (N), all f32 in `tok`, the
// per-token values zeros on padding.
// `packed` = [forward output (L), its gradient (L), mask (N)], L = N (2K + 3) + 3.
template <typename T>
__device__ void tokens(const T* packed, const float* ws, int64_t n, int k, int d, float tau,
                       float* tok) {
    const int64_t t = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) / 32;
    const int lane = threadIdx.x % 32;
    if (t >= n) return;
    const int64_t len = n * (2 * k + 3) + 3, plane = n * k;
    const T* y = packed;
    const T* g = packed + len;
    const T* mask = packed + 2 * len;
    if (lane == 0) tok[4 * plane + n + t] = 1.f;
    if (to_f(mask[t]) == 0.f) return;
    Ws w{k, d};
    const float* gram = ws + w.gram();
    const float per_token = 1.f / fmaxf(ws[w.count()], 1.f);
    const float g_sq = to_f(g[2 * plane + t * 3]) + to_f(g[2 * plane + 3 * n]) * per_token;
    const float g_ols = to_f(g[2 * plane + t * 3 + 1]) + to_f(g[2 * plane + 3 * n + 1]) * per_token;
    const float g_v = to_f(g[2 * plane + t * 3 + 2]) + to_f(g[2 * plane + 3 * n + 2]) * per_token;
    const T* q = y + t * k;
    const T* dist = y + plane + t * k;
    const T* g_q = g + t * k;
    const T* g_d = g + plane + t * k;
    float* a_out = tok + t * k;
    float* s_out = tok + plane + t * k;
    float* c_out = tok + 2 * plane + t * k;
    float* q_out = tok + 3 * plane + t * k;
    float* alpha = tok + 4 * plane;
    // u_j first (into a_out), then ubar, then w_j
    float ubar = 0.f;
    for (int j = lane; j < k; j += 32) {
        float gq = 0.f;
        for (int l = 0; l < k; ++l) gq += gram[(int64_t)j * k + l] * to_f(q[l]);
        float shape = gram[(int64_t)j * k + j] - 2.f * gq;
        float u = to_f(g_q[j]) + (g_sq + g_ols) * to_f(dist[j]) + (g_v - g_ols) * shape;
        a_out[j] = u;
        ubar += to_f(q[j]) * u;
    }
    ubar = warp_sum(ubar);
    float total = 0.f;
    for (int j = lane; j < k; j += 32) {
        float qj = to_f(q[j]);
        float wj = to_f(g_d[j]) + g_sq * qj - qj * (a_out[j] - ubar) / tau;
        float aj = wj + g_ols * qj;
        a_out[j] = aj;
        s_out[j] = wj + g_v * qj;
        c_out[j] = (g_ols - g_v) * qj;
        q_out[j] = qj;
        total += aj;
    }
    total = warp_sum(total);
    if (lane == 0) alpha[t] = 2.f * total;
}

// dH = alpha (h - c) - 2 A P', by tiles of MAX_ROWS tokens by KC columns; padding rows are
// zeros (their alpha and A are).
template <typename T>
__device__ void grad_hidden(const T* h, const T* mask, const float* ws, const float* tok, int64_t n,
                            int k, int d, T* out) {
    __shared__ float as[MAX_ROWS][DC + 1];
    __shared__ float ps[DC][KC + 1];
    Ws w{k, d};
    const float* centred = ws + w.centred();
    const float* a = tok;
    const float* alpha = tok + 4 * n * k;
    const int64_t first = (int64_t)blockIdx.y * MAX_ROWS;
    const int c0 = blockIdx.x * KC;
    const int tid = threadIdx.x, col = tid % KC, group = tid / KC;
    float acc[MAX_ROWS / 4];
#pragma unroll
    for (int j = 0; j < MAX_ROWS / 4; ++j) acc[j] = 0.f;
    for (int j0 = 0; j0 < k; j0 += DC) {
        for (int e = tid; e < MAX_ROWS * DC; e += THREADS) {
            int r = e / DC, j = e % DC;
            as[r][j] = (first + r < n && j0 + j < k) ? a[(first + r) * k + j0 + j] : 0.f;
        }
        for (int e = tid; e < DC * KC; e += THREADS) {
            int j = e / KC, i = e % KC;
            ps[j][i] = (j0 + j < k && c0 + i < d) ? centred[(int64_t)(j0 + j) * d + c0 + i] : 0.f;
        }
        __syncthreads();
#pragma unroll 8
        for (int j = 0; j < DC; ++j) {
            float pv = ps[j][col];
#pragma unroll
            for (int r = 0; r < MAX_ROWS / 4; ++r) acc[r] += as[group + 4 * r][j] * pv;
        }
        __syncthreads();
    }
    const int i = c0 + col;
    if (i >= d) return;
#pragma unroll
    for (int r = 0; r < MAX_ROWS / 4; ++r) {
        int64_t t = first + group + 4 * r;
        if (t >= n) continue;
        float v = 0.f;
        if (to_f(mask[t]) != 0.f) v = alpha[t] * (to_f(h[t * d + i]) - ws[i]) - 2.f * acc[r];
        out[t * d + i] = from_f<T>(v);
    }
}

// Partial sums over one chunk of `chunk` tokens of L^T R, L (N, M) f32 and R (N, W): tiles of
// KC rows of the result by KC columns; block (x: column tile, y: row tile, z: chunk) writes
// part[z] (M, W). R is the centred hidden states (masked) when `centred_h` is set, else the f32
// matrix `rf`.
template <typename T>
__device__ void lt_r(const float* l, int m, const float* rf, const T* h, const T* mask,
                     const float* center, bool centred_h, int64_t n, int wd, int64_t chunk,
                     float* part) {
    __shared__ float ls[DC][KC + 1];
    __shared__ float rs[DC][KC + 1];
    const int r0 = blockIdx.y * KC, c0 = blockIdx.x * KC;
    const int64_t t0 = (int64_t)blockIdx.z * chunk;
    const int64_t t1 = t0 + chunk < n ? t0 + chunk : n;
    const int tid = threadIdx.x, col = tid % KC, group = tid / KC;
    float acc[KC / 4];
#pragma unroll
    for (int j = 0; j < KC / 4; ++j) acc[j] = 0.f;
    for (int64_t s0 = t0; s0 < t1; s0 += DC) {
        for (int e = tid; e < DC * KC; e += THREADS) {
            int s = e / KC, j = e % KC;
            int64_t t = s0 + s;
            bool in = t < t1;
            ls[s][j] = (in && r0 + j < m) ? l[t * m + r0 + j] : 0.f;
            float v = 0.f;
            if (in && c0 + j < wd) {
                if (!centred_h) v = rf[t * wd + c0 + j];
                else if (to_f(mask[t]) != 0.f) v = to_f(h[t * wd + c0 + j]) - center[c0 + j];
            }
            rs[s][j] = v;
        }
        __syncthreads();
#pragma unroll 8
        for (int s = 0; s < DC; ++s) {
            float rv = rs[s][col];
#pragma unroll
            for (int j = 0; j < KC / 4; ++j) acc[j] += ls[s][group + 4 * j] * rv;
        }
        __syncthreads();
    }
    if (c0 + col >= wd) return;
#pragma unroll
    for (int j = 0; j < KC / 4; ++j) {
        int r = r0 + group + 4 * j;
        if (r < m) part[((int64_t)blockIdx.z * m + r) * wd + c0 + col] = acc[j];
    }
}

// part[0] += part[1] + ... + part[chunks - 1] in order, element by element (size each).
__device__ void sum_chunks(float* part, int64_t size, int chunks) {
    int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= size) return;
    float v = part[e];
    for (int c = 1; c < chunks; ++c) v += part[(int64_t)c * size + e];
    part[e] = v;
}

// dP = -2 X + 2 diag(s) P' + 2 M P' from the summed X (K, D), M (K, K) and s (K): one thread
// per (k, i).
template <typename T>
__device__ void grad_protos(const float* ws, const float* x, const float* m, const float* s, int k,
                            int d, T* out) {
    int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= (int64_t)k * d) return;
    int kk = (int)(e / d), i = (int)(e % d);
    Ws w{k, d};
    const float* centred = ws + w.centred();
    float mix = 0.f;
    for (int j = 0; j < k; ++j) mix += m[(int64_t)kk * k + j] * centred[(int64_t)j * d + i];
    out[e] = from_f<T>(-2.f * x[e] + 2.f * s[kk] * centred[e] + 2.f * mix);
}

}  // namespace

#define DDCL_KERNELS(T, SUFFIX)                                                                   \
    extern "C" __global__ void ddcl_protos_##SUFFIX(const T* p, int k, int d, float* ws) {        \
        protos<T>(p, k, d, ws);                                                                   \
    }                                                                                             \
    extern "C" __global__ void ddcl_pairs_##SUFFIX(const T* p, int k, int d, float* ws) {         \
        pairs<T>(p, k, d, ws);                                                                    \
    }                                                                                             \
    extern "C" __global__ void ddcl_count_##SUFFIX(const T* mask, int64_t n, float* out) {        \
        count<T>(mask, n, out);                                                                   \
    }                                                                                             \
    extern "C" __global__ void ddcl_assign_fwd_##SUFFIX(const T* h, const T* p, const T* mask,    \
                                                        const float* ws, int64_t n, int k, int d, \
                                                        int rows, float tau, T* out) {            \
        forward<T>(h, p, mask, ws, n, k, d, rows, tau, out);                                      \
    }                                                                                             \
    extern "C" __global__ void ddcl_means_##SUFFIX(const T* mask, int64_t n, int k, T* out) {     \
        means<T>(mask, n, k, out);                                                                \
    }                                                                                             \
    extern "C" __global__ void ddcl_bwd_tokens_##SUFFIX(const T* packed, const float* ws,         \
                                                        int64_t n, int k, int d, float tau,       \
                                                        float* tok) {                             \
        tokens<T>(packed, ws, n, k, d, tau, tok);                                                 \
    }                                                                                             \
    extern "C" __global__ void ddcl_bwd_hidden_##SUFFIX(const T* h, const T* mask,                \
                                                        const float* ws, const float* tok,        \
                                                        int64_t n, int k, int d, T* out) {        \
        grad_hidden<T>(h, mask, ws, tok, n, k, d, out);                                           \
    }                                                                                             \
    extern "C" __global__ void ddcl_bwd_lt_r_##SUFFIX(                                            \
        const float* l, int m, const float* rf, const T* h, const T* mask, const float* ws,       \
        int centred_h, int64_t n, int wd, int64_t chunk, float* part) {                           \
        lt_r<T>(l, m, rf, h, mask, ws, centred_h != 0, n, wd, chunk, part);                       \
    }                                                                                             \
    extern "C" __global__ void ddcl_bwd_protos_##SUFFIX(const float* ws, const float* x,          \
                                                        const float* m, const float* s, int k,    \
                                                        int d, T* out) {                          \
        grad_protos<T>(ws, x, m, s, k, d, out);                                                   \
    }

extern "C" __global__ void ddcl_sum_chunks(float* part, int64_t size, int chunks) {
    sum_chunks(part, size, chunks);
}

DDCL_KERNELS(float, f32)
DDCL_KERNELS(__nv_bfloat16, bf16)
DDCL_KERNELS(__half, f16)
