"""The profile summary sorts real kernel and operator names into kinds of work, and its shares
and busy time add up."""

from __future__ import annotations

import time

import pytest
import torch
from torch.profiler import ProfilerActivity, profile

from wit_builder.train import step_profile
from wit_builder.train.step_profile import OTHER, category_of

GEMM, ATTENTION, TRITON = "matrix products (GEMM)", "attention (SDPA)", "fused by torch.compile (Triton)"


@pytest.mark.parametrize(
    ("name", "category"),
    [
        (
            "sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n_tilesize128x128x64_warpgroupsize1x1x1_execute_kernel__5x_cublas",
            GEMM,
        ),
        ("nvjet_tst_128x256_64x4_1x2_h_bz_coopA_NTT", GEMM),
        ("cutlass::Kernel2<cutlass_80_wmma_tensorop_bf16_s161616gemm_bf16_16x16_128x1_tn_align8>", GEMM),
        ("triton_tem_fused_addmm_0", GEMM),
        ("aten::addmm", GEMM),
        ("aten::mkldnn_convolution", GEMM),
        (
            "void pytorch_flash::flash_bwd_dq_dk_dv_loop_seqk_parallel_kernel<Flash_bwd_kernel_traits<64, 128>>",
            ATTENTION,
        ),
        ("fmha_cutlassF_bf16_aligned_64x64_rf_sm80", ATTENTION),
        ("aten::_scaled_dot_product_flash_attention_for_cpu", ATTENTION),
        ("triton_poi_fused_add_native_layer_norm_0", TRITON),
        ("triton_red_fused_gelu_1", TRITON),
        ("void at::native::(anonymous namespace)::vectorized_layer_norm_kernel<float, float>", "layer norm"),
        (
            "void at::native::multi_tensor_apply_kernel<at::native::FusedAdamMathFunctor<float, 4>>",
            "optimiser and clipping",
        ),
        ("aten::_fused_adamw_", "optimiser and clipping"),
        ("void (anonymous namespace)::softmax_warp_forward<float, float, float, 9, true>", "softmax and cross-entropy"),
        ("Memcpy HtoD (Pinned -> Device)", "copies and casts"),
        ("aten::copy_", "copies and casts"),
        ("void at::native::vectorized_elementwise_kernel<4, at::native::GeluCUDAKernelImpl>", OTHER),
        ("aten::gelu_backward", OTHER),
    ],
)
def test_names_go_to_their_kind_of_work(name, category):
    assert category_of(name) == category


def test_shares_add_up_and_come_largest_first():
    timed = [("aten::mm", 6000.0), ("aten::addmm", 2000.0), ("aten::gelu", 1000.0), ("Memcpy HtoD", 1000.0)]
    shares = step_profile.summarise(timed, steps=2)
    assert [s.category for s in shares] == [GEMM, OTHER, "copies and casts"]
    assert shares[0].ms_per_step == pytest.approx(4.0) and shares[0].operators == 2
    assert sum(s.share for s in shares) == pytest.approx(1.0)
    table = step_profile.markdown(shares, wall_ms_per_step=10.0, on_device=True)
    assert "| **all** | **5.00** |" in table
    assert "The GPU ran kernels 50% of the profiled wall time (5.0 of 10.0 ms a step)." in table


def test_a_real_cpu_profile_counts_each_operator_once():
    model = torch.nn.Sequential(torch.nn.Linear(512, 2048), torch.nn.GELU(), torch.nn.Linear(2048, 512))
    x = torch.randn(1024, 512)
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        started = time.perf_counter()
        model(x).square().mean().backward()
        wall_us = 1e6 * (time.perf_counter() - started)
    timed = step_profile.timed_operators(profiler.key_averages(), on_device=False)
    assert {"aten::addmm", "aten::gelu", "aten::mm"} <= {name for name, _ in timed}
    assert all(name.startswith("aten::") for name, _ in timed)
    assert sum(micros for _, micros in timed) <= wall_us  # self times: nested operators are not counted twice
    shares = step_profile.summarise(timed, 1)
    assert shares[0].category == GEMM and shares[0].share > 0.5
