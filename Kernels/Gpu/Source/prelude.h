/* Tensorium kernel prelude: the one place that knows the two dialects.
 *
 * Every kernel file is written in a small shared C dialect and compiled either as OpenCL C
 * (TS_OPENCL defined) or as CUDA C++ through NVRTC (TS_CUDA defined). Only this file may use
 * the raw dialect words; a lint test enforces it.
 *
 * Rules that keep one source valid in both:
 *   - declare local (shared) arrays inside the kernel body with LOCAL_ARRAY;
 *   - qualify every pointer parameter: GLOBAL for device memory, LOCAL for work-group memory;
 *   - kernel arguments are int, i64, float, double or pointers (never size_t or bool);
 *   - no vector-type operators, no float atomics (backward passes are gathers); the one vector
 *     type is REAL4 (float only), read and written whole with LOAD4/STORE4 and taken apart by its
 *     .x .y .z .w fields;
 *   - global size is always a whole number of work-groups (the host rounds up; kernels bound-check);
 *   - every work-item of a group reaches every BARRIER(): no early return before one, and no
 *     barrier under an `if`, even one the whole group takes alike (PoCL 3.1 miscompiled a group
 *     sum under such a branch when it ran with several threads); loops with uniform bounds are fine;
 *   - use the names below (REAL_MAX, u32, ...) instead of header names NVRTC lacks;
 *   - KERNEL_BOUNDED(threads, groups) in place of KERNEL declares a kernel never launched with
 *     more than `threads` work-items per group, for which CUDA limits registers so that `groups`
 *     groups fit on one multiprocessor (check ptxas's spill report); OpenCL ignores the hint;
 *   - LOAD4(p, i) / STORE4(p, i, v) access p[i .. i+3] as one 16-byte REAL4, and p + i must be
 *     16-byte aligned: a multiple of 4 floats from the start of a buffer (buffers start aligned).
 *     CUDA faults on a misaligned vector access while OpenCL's vload4 accepts any address, so
 *     PoCL cannot catch a violation: the host must check offsets, leading dimensions and batch
 *     strides before it launches a kernel that uses them. A LOCAL_ARRAY of REAL4 is aligned too.
 *
 * The host compiles each file once per element type, with -D REAL=float|double (and ACC,
 * the accumulator type) or -D ELEM=<any type>; tuning knobs (tile sizes) are -D defines too.
 */
#ifndef TS_PRELUDE
#define TS_PRELUDE

#if defined(TS_OPENCL)

#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#define KERNEL __kernel void
#define KERNEL_BOUNDED(threads, groups) __kernel void
#define DEVICE_FN static inline
#define GLOBAL __global
#define LOCAL __local
#define LOCAL_ARRAY(type, name, count) __local type name[count]
#define BARRIER() barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE)
#define LOCAL_ID(d) ((int)get_local_id(d))
#define GROUP_ID(d) ((int)get_group_id(d))
#define LOCAL_SIZE(d) ((int)get_local_size(d))
#define NUM_GROUPS(d) ((int)get_num_groups(d))
typedef long i64;
typedef uint u32;
typedef ulong u64;
#define MUL_HI_U32(a, b) mul_hi((u32)(a), (u32)(b))
#define AS_FLOAT(bits) as_float((u32)(bits))
#define AS_DOUBLE(bits) as_double((u64)(bits))
/* A double product never fused with a neighbouring add into an fma (bit-exact parity with the host).
 * OpenCL C contracts only within one expression, and a call is not a product expression. */
DEVICE_FN double ts_mul_rn(double a, double b) { return a * b; }
#define MUL_RN(a, b) ts_mul_rn((a), (b))
#define LOAD4(p, i) vload4(0, (p) + (i))
#define STORE4(p, i, v) vstore4((v), 0, (p) + (i))

#elif defined(TS_CUDA)

#define KERNEL extern "C" __global__ void
#define KERNEL_BOUNDED(threads, groups) extern "C" __global__ void __launch_bounds__(threads, groups)
#define DEVICE_FN __device__ __forceinline__
#define GLOBAL
#define LOCAL
#define LOCAL_ARRAY(type, name, count) __shared__ type name[count]
#define BARRIER() __syncthreads()
#define LOCAL_ID(d) ((int)((d) == 0 ? threadIdx.x : (d) == 1 ? threadIdx.y : threadIdx.z))
#define GROUP_ID(d) ((int)((d) == 0 ? blockIdx.x : (d) == 1 ? blockIdx.y : blockIdx.z))
#define LOCAL_SIZE(d) ((int)((d) == 0 ? blockDim.x : (d) == 1 ? blockDim.y : blockDim.z))
#define NUM_GROUPS(d) ((int)((d) == 0 ? gridDim.x : (d) == 1 ? gridDim.y : gridDim.z))
typedef long long i64;
typedef unsigned int u32;
typedef unsigned long long u64;
#define MUL_HI_U32(a, b) __umulhi((u32)(a), (u32)(b))
#define AS_FLOAT(bits) __int_as_float((int)(bits))
#define AS_DOUBLE(bits) __longlong_as_double((long long)(bits))
#define MUL_RN(a, b) __dmul_rn((a), (b))
#define LOAD4(p, i) (*(const REAL4*)((p) + (i)))
#define STORE4(p, i, v) (*(REAL4*)((p) + (i)) = (v))
/* OpenCL's overloaded math on float, spelled with CUDA's f-suffixed intrinsics (double keeps the plain names). */
__device__ __forceinline__ float exp(float x) { return expf(x); }
__device__ __forceinline__ float log(float x) { return logf(x); }
__device__ __forceinline__ float sqrt(float x) { return sqrtf(x); }
__device__ __forceinline__ float rsqrt(float x) { return rsqrtf(x); }
__device__ __forceinline__ float pow(float x, float y) { return powf(x, y); }
__device__ __forceinline__ float tanh(float x) { return tanhf(x); }
__device__ __forceinline__ float sin(float x) { return sinf(x); }
__device__ __forceinline__ float cos(float x) { return cosf(x); }
__device__ __forceinline__ float fabs(float x) { return fabsf(x); }
__device__ __forceinline__ float erf(float x) { return erff(x); }
__device__ __forceinline__ float fmax(float x, float y) { return fmaxf(x, y); }
__device__ __forceinline__ float fmin(float x, float y) { return fminf(x, y); }
__device__ __forceinline__ float floor(float x) { return floorf(x); }
__device__ __forceinline__ float fma(float x, float y, float z) { return fmaf(x, y, z); }

#else
#error "Compile with -D TS_OPENCL or -D TS_CUDA"
#endif

/* The element type's limits, for kernels compiled with -D REAL=float or -D REAL=double. */
#define FLOAT_INF AS_FLOAT(0x7f800000u)
#define DOUBLE_INF AS_DOUBLE(0x7ff0000000000000ull)
#ifdef REAL_IS_DOUBLE
#define REAL_INF DOUBLE_INF
#else
#define REAL_INF FLOAT_INF
#endif

/* Four floats as one vector (see LOAD4): float only, so a double kernel using it fails to compile. */
#if !defined(REAL_IS_DOUBLE)
typedef float4 REAL4;
#endif

/* A flat global index along dimension 0 (the kernels' common case). */
#define GLOBAL_ID(d) (GROUP_ID(d) * LOCAL_SIZE(d) + LOCAL_ID(d))

/* Shapes and strides travel by value: up to MAX_RANK dimensions, unused ones have size 1. */
#define MAX_RANK 8
typedef struct { int d[MAX_RANK]; } dims_t;

/* The element offset of flat index i (row-major over shape) in a tensor with the given strides. */
DEVICE_FN int strided_offset(int i, int rank, dims_t shape, dims_t strides)
{
    int offset = 0;
    for (int k = rank - 1; k >= 0; k--)
    {
        int extent = shape.d[k];
        offset += (i % extent) * strides.d[k];
        i /= extent;
    }
    return offset;
}

#endif
