#!/usr/bin/env python3
"""Build the catalogs in ``catalogs/`` (and the frozen test fixture) from ``../shared/reference``.

Usage (from the repository root)::

    python scripts/build_catalogs.py                 # writes catalogs/*.csv (not efficiency.csv)
    python scripts/build_catalogs.py --fixture       # also writes tests/data/catalogs/*.csv
    python scripts/build_catalogs.py --reference DIR # another copy of the reference folder

What is derived mechanically from the reference files (``gpu_instances.csv``, ``api_prices.csv``,
``egress.csv``, ``accelerators.csv``, ``models.csv``) is derived here, so the derivation can be re-run and
reviewed. Facts that do not come from the reference (region locations, extra models and accelerators,
commitment discounts, per-instance GPU variants) are written down below as data, each with its
``source``. Nothing here estimates a number: an unknown is an empty cell. Every derived number says so in
``notes``. See ``catalogs/README.md`` for the data dictionary and the list of known gaps.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.catalog.schema import (  # noqa: E402
    ACCELERATORS,
    API_PRICES,
    DISCOUNTS,
    EGRESS,
    MODELS,
    OFFERS,
    REGIONS,
    TableSchema,
)

REF_RETRIEVED = "2026-11-30"  # ../shared/reference was retrieved on this date (its README)
LOOKUP_RETRIEVED = "2026-11-30"  # date the extra sources below were read for this build
# Layer patterns of interleaved local/global attention (issue 3, attention variants), read 2026-11-30:
# transformers' config classes give the layer_types default that published config.json files rely on.
SRC_GEMMA2_LAYERS = ("huggingface/transformers:src/transformers/models/gemma2/configuration_gemma2.py@"
                     "008e574391258935f3ecc3035c882e73bbcac419 (sliding_window default 4096; layer_types = "
                     "'sliding_attention' if (i + 1) % 2 else 'full_attention': layers 1, 3, 5, ... (0-based) global)")
SRC_GEMMA3_LAYERS = ("huggingface/transformers Gemma3TextConfig: sliding_window_pattern 6, layer_types = 'sliding_attention' "
                     "if (i + 1) % 6 else 'full_attention' (layers 5, 11, ... global; configuration_gemma3.py, find_string "
                     "hit 13771957940; the pattern is still a plain integer in the Hub config.json files)")
SRC_LLAMA4_LAYERS = ("huggingface/transformers:src/transformers/models/llama4/configuration_llama4.py@"
                     "008e574391258935f3ecc3035c882e73bbcac419 (attention_chunk_size default 8192, no_rope_layer_interval 4: "
                     "no_rope_layers[i] = int((i + 1) % 4 != 0), layer_types = 'chunked_attention' on RoPE layers, "
                     "'full_attention' on the NoPE layers 3, 7, 11, ...)")
VIA_REF = "via ../shared/reference/{f}"

# ---------------------------------------------------------------------------------------------
# Sources used beyond ../shared/reference (cited per row)
# ---------------------------------------------------------------------------------------------
SRC_MLENG = (
    "stas00/ml-engineering:compute/accelerator/README.md@b9e29720eebd4aa946fa9678975385efbc90a777"
)
SRC_AZ_NCA100 = (
    "MicrosoftDocs/azure-docs:articles/virtual-machines/sizes/gpu-accelerated/includes/"
    "nc-a100-v4-series-summary.md@7d8682a53ed0bf43fb26b5f445de396d78e7fb69"
)
SRC_AZ_NCH100 = (
    "MicrosoftDocs/azure-docs:articles/virtual-machines/sizes/gpu-accelerated/includes/"
    "ncads-h100-v5-series-summary.md@cafa49ad25191a090a5481c28ced9d3fe10801fb"
)
SRC_AZ_NDH100 = (
    "MicrosoftDocs/azure-docs:articles/virtual-machines/sizes/gpu-accelerated/includes/"
    "nd-h100-v5-series-summary.md@88ce98167947f21a905fb629416d7b148f7518e6; "
    "https://aspire.dev/reference/api/csharp/aspire.hosting.azure.kubernetes/standardndsh100v5.md "
    "(Standard_ND96isr_H100_v5 -- 96 vCPUs -- 1900 GB RAM -- 8 GPU(s))"
)
SRC_AZ_NDA100 = (
    "MicrosoftDocs/azure-docs:articles/virtual-machines/sizes/gpu-accelerated/includes/"
    "nd-a100-v4-series-summary.md@0c9c6184a0f088340d803b634146ad3d5434e407"
)
SRC_AZ_NDMA100 = (
    "MicrosoftDocs/azure-docs:articles/virtual-machines/sizes/gpu-accelerated/includes/"
    "ndm-a100-v4-series-summary.md@1e4c74090567545e5a102821af86e8caf0197ffe"
)
SRC_AZ_NDV2 = (
    "MicrosoftDocs/azure-docs:articles/virtual-machines/sizes/gpu-accelerated/includes/"
    "ndv2-series-summary.md@60e1879f6265547798fb6bef4dcd1fd2b795fb1b"
)
SRC_AZ_NVA10 = "https://github.com/MicrosoftDocs/azure-docs/blob/main/articles/virtual-machines/nva10v5-series.md"
SRC_LAMBDA_TYPES = "nateraw/lambdacloud:README.md@21f2fce56a2d9eb6f6350925417c01c71428ed17 (Lambda API instance-type descriptions)"
SRC_HYPERSCALERS = "https://raw.githubusercontent.com/datareceipts/data-receipts/main/109-gpu-pricing/hyperscalers.json"
# NVIDIA product-page spec tables, read through public transcriptions (the pages themselves are not in the index;
# each transcription is cited by its find_string hit id because the index does not expose its repository)
SRC_NV_H100 = (
    "https://www.nvidia.com/en-us/data-center/h100/ (spec table, H100 NVL column: FP32 60 teraFLOPS; TF32 835, BFLOAT16 "
    "1,671, FP16 1,671, FP8 3,341 teraFLOPS, INT8 3,341 TOPS - Tensor Core rows marked '* With sparsity'; 94 GB; 3.9 TB/s; "
    "350-400 W (configurable); 'NVIDIA NVLink: 600 GB/s, PCIe Gen5: 128 GB/s'; form factor PCIe dual-slot) as transcribed in "
    "public notes (find_string hits 43180238867, 63019425432, 69287850373 '*With sparsity, as listed on NVIDIA datasheets', "
    "70974299245 quoting the page's '* With sparsity' footnote); datasheet copy: https://www.pny.com/file%20library/company/"
    "support/product%20brochures/nvidia%20data%20center%20gpus/english/h100-nvl-datasheet.pdf (cited by hit 65910594837)"
)
# Curated fixes of reference accelerator rows (filled gaps; each cell's derivation is in the row's notes)
SRC_A10G_BW = (
    "https://www.baseten.co/blog/nvidia-a10-vs-a10g-for-ml-model-inference/ ('The A10 and A10G share the same GPU "
    "memory stats: 24 gigabytes of GDDR6 VRAM with a memory bandwidth of 600 gigabytes per second'); same 600 GB/s for "
    "'A10G' in public code bandwidth tables (find_string hits 55222492310, 62012757277, 12096018621, 66939352981)"
)
SRC_MLENG_NET = "stas00/ml-engineering:network/README.md@0030e63f5275afee38233676690ce10478647cca"
SRC_AMD_CDNA3 = (
    "https://www.amd.com/content/dam/amd/en/documents/instinct-tech-docs/white-papers/amd-cdna-3-white-paper.pdf "
    "(2025 revision, PID#2258402-B; Table 2, MI300X and MI325X columns: 'DEVICE I/O CONNECTIONS 7 x16 AMD Infinity Fabric "
    "links 1x16 PCIe Gen 5 to host CPU', 'P2P RING PEAK AGGREGATE I/O BANDWIDTH 896 GB/s (8 GPUs)', 'TOTAL PEAK AGGREGATE "
    "I/O BANDWIDTH 1024 GB/s'; text: links 'operate at up to 32Gbps', '16-lane, bi-directional', 'seven ... Infinity "
    "Fabric links to form a fully connected 8-GPU system'; read through a public transcription, find_string hit "
    "4100275500); https://rocm.docs.amd.com/en/latest/conceptual/gpu-arch/mi300.html (seven Infinity Fabric links, fully "
    f"connected 8-GPU node; transcription hit 4460207724); {SRC_MLENG_NET} (Infinity Fabric table: MI300X and MI325X "
    "64 GBps per link per direction, 7 links, 448 GBps unidirectional / 896 GBps duplex all-to-all)"
)
SRC_HABANA_NET = (
    "https://docs.habana.ai/en/latest/Management_and_Monitoring/Network_Configuration/index.html (Intel Gaudi Network "
    "Configuration: 'Each Intel Gaudi 3 AI accelerator has 21 scale-up ports and three scale-out ports running at "
    "200Gbps ... The theoretical peak of scale-up bandwidth from each Gaudi is 21*200Gbps = 21*25 GB/s = 525 GB/s "
    "unidirectional bandwidth or 1050 GB/s bidirectional bandwidth'; 'Gaudi 2 network architecture is similar to Gaudi 3 "
    "except that the network links operate at 100Gbps. The theoretical peak of scale-up bandwidth from each Gaudi 2 is "
    "21*100Gbps = 21*12.5 GB/s = 262.5 GB/s unidirectional bandwidth or 525 GB/s bidirectional bandwidth'); "
    "https://www.sgpjbg.com/baogao/465025.html (transcription of Intel's Hot Chips 2024 Gaudi 3 slides: 'Embedded NIC "
    "BW (bi-directional)' Gaudi 2 4.8 Tb/s, Gaudi 3 9.6 Tb/s; Gaudi 3 'Networking 1200 GB/s bidirectional', '24x 200GbE "
    "RoCE')"
)
SRC_NV_GB200 = (
    "https://www.nvidia.com/en-us/data-center/gb200-nvl72/ (spec table, column 'GB200 Grace Blackwell Superchip' = 1 Grace "
    "CPU | 2 Blackwell GPU: NVFP4 Tensor Core 40 | 20 PFLOPS (sparse | dense); FP8/FP6 20 PFLOPS; INT8 20 POPS; FP16/BF16 "
    "10 PFLOPS; TF32 5 PFLOPS - footnote 'Specification in sparse. Dense is one-half sparse spec shown.'; FP32 160 TFLOPS; "
    "372 GB HBM3e | 16 TB/s; NVLink 3.6 TB/s; NVL72 column 13.4 TB HBM3e | 576 TB/s for 72 GPUs) as transcribed in public "
    "notes (find_string hits 71454434298, 68975056964, 61815428989); per-GPU table of NVIDIA's Blackwell product page "
    "(columns GB200 NVL72 | GB200 NVL4 | HGX B200: FP16/BF16 5 PFLOPS sparse, FP8 10 PFLOPS, INT8 10 POPS, FP32 80 TFLOPS, "
    "186 GB HBM3E 8 TB/s, 'Configurable up to 1,200 W', NVL4 interconnect 'Fifth-generation NVLink: 1.8 TB/s') as transcribed "
    "in find_string hit 43180238867; 186 GB per GPU also in NVIDIA's MIG page table "
    "(https://www.nvidia.com/en-us/technologies/multi-instance-gpu/, via find_string hit 70587054706)"
)

# ---------------------------------------------------------------------------------------------
# Accelerators
# ---------------------------------------------------------------------------------------------
# reference name -> (id, family, aliases)
ACC_FROM_REF = {
    "H100 SXM": ("H100-SXM-80GB", "hopper",
                 "H100;H100 SXM;H100-SXM;h100-80gb;h100-sxm5;H100 80GB HBM3;H100-80GB-SXM"),
    "H100 PCIe": ("H100-PCIe-80GB", "hopper", "H100 PCIe;h100-pcie"),
    "H200 SXM": ("H200-SXM-141GB", "hopper", "H200;H200 SXM;h200-141gb;h200-sxm"),
    "B200 SXM": ("B200-SXM-192GB", "blackwell", "B200;B200 SXM;b200-sxm;b200-sxm6"),
    "GH200 (96GB HBM3)": ("GH200-96GB", "hopper", "GH200;GH200 (96GB HBM3);GH200 96GB HBM3;GH200 96GB HBM3 CG1"),
    "GH200 (141GB HBM3e)": ("GH200-144GB", "hopper", "GH200 (141GB HBM3e);GH200-141GB;GH200 144GB HBM3e"),
    "A100 SXM 40GB": ("A100-SXM-40GB", "ampere", "A100;A100 SXM 40GB;A100-40GB;a100-sxm4-40gb;A100 SXM4 40GB"),
    "A100 SXM 80GB": ("A100-SXM-80GB", "ampere",
                      "A100-80GB;A100 SXM 80GB;a100-80gb;A100-SXM4-80GB;A100-80GB-SXM;A100-80G;A100 SXM4 80GB"),
    "A100 PCIe 40GB": ("A100-PCIe-40GB", "ampere", "A100 PCIe 40GB"),
    "A100 PCIe 80GB": ("A100-PCIe-80GB", "ampere", "A100 PCIe 80GB;A100 80GB PCIe"),
    "A10G": ("A10G-24GB", "ampere", "A10G"),
    "A10": ("A10-24GB", "ampere", "A10"),
    "L4": ("L4-24GB", "ada", "L4"),
    "L40S": ("L40S-48GB", "ada", "L40S"),
    "T4": ("T4-16GB", "turing", "T4;Tesla T4"),
    "V100 SXM2": ("V100-SXM2-16GB", "volta", "V100;V100 SXM2;V100-16GB;Tesla V100"),
    "V100 PCIe": ("V100-PCIe-16GB", "volta", "V100 PCIe"),
    "MI300X": ("MI300X-192GB", "cdna3", "MI300X;AMD MI300X"),
    "MI325X": ("MI325X-256GB", "cdna3", "MI325X;AMD MI325X"),
    "Gaudi2": ("Gaudi2-96GB", "gaudi", "Gaudi2;Gaudi 2"),
    "Gaudi3": ("Gaudi3-128GB", "gaudi", "Gaudi3;Gaudi 3"),
    "TPU v5e": ("TPU-v5e-16GB", "tpu", "TPU-v5e;TPU v5e;v5litepod;tpu-v5-lite"),
    "TPU v5p": ("TPU-v5p-95GB", "tpu", "TPU-v5p;TPU v5p"),
    "TPU v6e (Trillium)": ("TPU-v6e-32GB", "tpu", "TPU-v6e;TPU v6e;TPU v6e (Trillium);Trillium"),
    "Inferentia2": ("Inferentia2-32GB", "neuron", "Inferentia2;inf2"),
    "Trainium (Trn1)": ("Trainium1", "neuron", "Trainium;Trainium (Trn1);trn1"),
    "Trainium2": ("Trainium2", "neuron", "trn2"),
}


def _acc_row(**kw) -> dict:
    row = {c: None for c in ACCELERATORS.names}
    row.update(kw)
    return row


def build_accelerators(ref: Path) -> pd.DataFrame:
    src = pd.read_csv(ref / "accelerators.csv")
    rows = []
    for _, r in src.iterrows():
        if r["name"] not in ACC_FROM_REF:
            raise SystemExit(f"unmapped reference accelerator {r['name']!r}")
        acc_id, family, aliases = ACC_FROM_REF[r["name"]]
        notes = [] if pd.isna(r["notes"]) else [str(r["notes"])]
        row = _acc_row(
            id=acc_id, aliases=aliases, vendor=r["vendor"], family=family,
            memory_gb=r["memory_gb"], mem_bw_gb_per_s=r["mem_bw_gbs"], fp32_tflops=r["fp32_tflops"],
            fp16_tflops=r["fp16_tflops_dense"], bf16_tflops=r["bf16_tflops_dense"],
            fp8_tflops=r["fp8_tflops_dense"], int8_tops=r["int8_tops_dense"], int4_tops=r["int4_tops_dense"],
            interconnect=r["interconnect"], link_bw_gb_per_s=r["intra_node_bw_gbs_per_gpu"], tdp_w=r["tdp_w"],
            source=f"{r['source']} ({VIA_REF.format(f='accelerators.csv')})", retrieved=REF_RETRIEVED,
        )
        if acc_id == "B200-SXM-192GB":
            row["fp4_tflops"] = 9000.0
            notes.append("fp4_tflops 9000 dense from the same ml-engineering TFLOPS table (reference notes)")
        if acc_id == "GH200-144GB":
            row["memory_gb"] = 144.0
            notes.append(
                "id and memory_gb per ml-engineering 'Cloud accelerators' text (GH200: H100 w/ 96GB HBM3 or 144GB HBM3e); "
                "the ml-engineering memory table and the reference list 141 GB / 4.8 TB/s for this variant"
            )
        if acc_id == "A100-SXM-40GB" and pd.isna(row["link_bw_gb_per_s"]):
            row["link_bw_gb_per_s"] = 600.0
            row["source"] += "; NVLink: https://www.nvidia.com/de-de/data-center/nvlink/ (A100: twelve 3rd-gen NVLinks, 600 GB/s total)"
            notes.append("link_bw_gb_per_s 600 from NVIDIA's NVLink page (per A100 SXM GPU, both memory sizes; retrieved 2026-11-30)")
        if acc_id == "A10G-24GB" and pd.isna(row["mem_bw_gb_per_s"]):
            row["mem_bw_gb_per_s"] = 600.0
            row["source"] += f"; memory bandwidth: {SRC_A10G_BW}"
            row["retrieved"] = LOOKUP_RETRIEVED
            notes[:] = [n.replace("; memory bandwidth not found", "") for n in notes]
            notes.append(
                "mem_bw_gb_per_s 600 (filled 2026-11-30): a third-party comparison (Baseten) states A10 and A10G share "
                "24 GB GDDR6 at 600 GB/s, the A10 datasheet figure (row A10-24GB); AWS/NVIDIA publish no separate A10G "
                "bandwidth in the sources read. int8_tops / int4_tops EMPTY: no published A10G figure found. CAVEAT "
                "(not changed here): the same Baseten page says the two cards differ 'most notably around tensor "
                "compute' (A10 prioritizes tensor compute), so fp16/bf16 125 (the A10 datasheet value, via Lightning) "
                "may overstate the A10G tensor rate; one public matmul measurement reports ~69 TFLOPS FP16 on an A10G "
                "(https://github.com/zzc0721/torch-performance-test-data/issues/126). interconnect kept 'PCIe' and "
                "link_bw_gb_per_s EMPTY: the PCIe generation of the A10G / g5 instances is not stated by AWS or NVIDIA in "
                "the sources read (only unattributed code tables say Gen4), so tp > 1 on g5 stays unestimable"
            )
        if acc_id in ("MI300X-192GB", "MI325X-256GB") and pd.isna(row["link_bw_gb_per_s"]):
            row["link_bw_gb_per_s"] = 896.0
            row["source"] += f"; Infinity Fabric: {SRC_AMD_CDNA3}"
            row["retrieved"] = LOOKUP_RETRIEVED
            notes.append(
                "link_bw_gb_per_s 896 (filled 2026-11-30) = 7 Infinity Fabric x16 links x 128 GB/s (32 Gbps x 16 lanes "
                "/ 8 = 64 GB/s per direction per link, x2 directions) = AMD's 'P2P ring peak aggregate I/O bandwidth' "
                "for the fully connected 8-GPU UBB platform, i.e. TOTAL BIDIRECTIONAL per GPU - the same convention as "
                "the NVIDIA rows (H100/H200 SXM 900 = 18 NVLink4 links bidirectional; A100 SXM 600; B200 1800), not the "
                "unidirectional 448 GB/s. The PCIe Gen5 x16 host link is not counted (AMD's separate 'total peak "
                "aggregate I/O bandwidth' 1024 GB/s exceeds 896 by 128 GB/s, the host link's bidirectional rate). CAVEAT: each peer pair has ONE link (64 GB/s per direction): the aggregate is reached only "
                "when all 8 GPUs of the node communicate (tp = 8); for tp = 2 or 4 the figure is optimistic "
                "(ml-engineering measured all-reduce busbw 47.7 GB/s on 2 GPUs vs 312.9 GB/s on 8)"
            )
        if acc_id in ("Gaudi2-96GB", "Gaudi3-128GB") and pd.isna(row["link_bw_gb_per_s"]):
            gbit = 100 if acc_id == "Gaudi2-96GB" else 200
            uni = 21 * gbit / 8
            row["link_bw_gb_per_s"] = 2 * uni
            row["source"] += f"; scale-up network: {SRC_HABANA_NET}; {SRC_MLENG_NET} (Gaudi2/Gaudi3 sections)"
            row["retrieved"] = LOOKUP_RETRIEVED
            notes.append(
                f"link_bw_gb_per_s {2 * uni:g} (filled 2026-11-30) = the 21 scale-up ports of the 24 integrated "
                f"{gbit} GbE RoCE v2 ports (3 to each of the 7 other accelerators of an 8-card HLS box, all-to-all) "
                f"x {gbit} Gb/s = {uni:g} GB/s per direction, x2 = {2 * uni:g} GB/s bidirectional, as Intel's network "
                "configuration page states it; bidirectional to match the NVIDIA rows (H100 SXM 900 = NVLink total "
                f"bidirectional). The 3 scale-out ports ({3 * gbit / 8:g} GB/s per direction) are not counted (Intel's "
                f"'{'4.8' if gbit == 100 else '9.6'} Tb/s' embedded-NIC figure counts all 24 ports, both directions). "
                f"CAVEAT: each peer pair has 3 ports ({3 * gbit / 8:g} GB/s per direction); the aggregate is reached "
                "only with all 8 cards in the group (tp = 8), so tp = 2 or 4 is optimistic"
            )
        if acc_id == "Gaudi2-96GB":
            notes.append(
                "fp16_tflops / int8_tops still EMPTY: the sources read give Gaudi2 BF16 432 and FP8 865 only "
                "(ml-engineering's TFLOPS table marks FP16 and INT8 'V' = supported, no figure published)"
            )
        if acc_id == "V100-SXM2-16GB":
            notes.append("memory_gb = the 16 GB variant; the 32 GB variant is the row V100-SXM2-32GB")
        if acc_id == "V100-PCIe-16GB":
            notes.append("memory_gb = the 16 GB variant (a 32 GB variant exists; not in this catalog)")
        if acc_id in ("TPU-v5e-16GB", "TPU-v6e-32GB"):
            notes.append("link_bw_gb_per_s is the bidirectional ICI figure as published (not unidirectional)")
        row["notes"] = "; ".join(notes) or None
        rows.append(row)
        if acc_id == "V100-SXM2-16GB":
            r32 = dict(row)
            r32.update(
                id="V100-SXM2-32GB", aliases="V100-32GB;V100 SXM2 32GB;Tesla V100 32GB", memory_gb=32.0,
                notes="same SXM2 part with 32 GB (reference notes: 16 or 32 GB variants; AWS p3dn / Azure ND40rs_v2 use 32 GB); "
                      "all other cells copied from the reference V100 SXM2 row (one row for both variants there)",
            )
            rows.append(r32)

    mleng_tflops = "ml-engineering TFLOPS comparison table (dense, per package); memory table; power table"
    rows += [
        _acc_row(id="MI250X", aliases="AMD MI250X;MI250X-128GB", vendor="AMD", family="cdna2", memory_gb=128.0,
                 mem_bw_gb_per_s=3280.0, fp32_tflops=47.9, fp16_tflops=383.0, bf16_tflops=383.0, int8_tops=383.0,
                 tdp_w=560.0, source=SRC_MLENG, retrieved=LOOKUP_RETRIEVED,
                 notes=f"{mleng_tflops}; one package = 2 GCDs (a single matmul uses one GCD: halve the TFLOPS per GCD); "
                       "no FP8; 3.28 TB/s converted to 3280 GB/s"),
        _acc_row(id="MI250", aliases="AMD MI250;MI250-128GB", vendor="AMD", family="cdna2", memory_gb=128.0,
                 mem_bw_gb_per_s=3280.0, fp32_tflops=45.3, fp16_tflops=362.0, bf16_tflops=362.0, int8_tops=362.0,
                 source=SRC_MLENG, retrieved=LOOKUP_RETRIEVED,
                 notes=f"{mleng_tflops}; one package = 2 GCDs; no FP8; TDP not in the source; 3.28 TB/s converted to 3280 GB/s"),
        _acc_row(id="H100-NVL-94GB", aliases="H100 NVL;h100-nvl", vendor="NVIDIA", family="hopper", memory_gb=94.0,
                 mem_bw_gb_per_s=3900.0, fp32_tflops=60.0, fp16_tflops=835.5, bf16_tflops=835.5, fp8_tflops=1670.5,
                 int8_tops=1670.5, interconnect="NVLink bridge (2-GPU pairs); PCIe Gen5", link_bw_gb_per_s=600.0,
                 tdp_w=400.0,
                 source=f"{SRC_NV_H100}; {SRC_AZ_NCH100}; {SRC_MLENG}", retrieved=LOOKUP_RETRIEVED,
                 notes="94 GB per GPU (NVIDIA spec table; Azure NCads H100 v5 doc; ml-engineering); 3.9 TB/s converted to "
                       "3900 GB/s (the NVL product brief prints 3,938 GB/s, per hit 65910594837); TDP 400 W = top of NVIDIA's "
                       "350-400 W configurable range (ml-engineering power table also 400 W). Tensor rates DERIVED: NVIDIA "
                       "prints them with 2:4 sparsity, dense = half: FP16/BF16 1,671/2 = 835.5, FP8 3,341/2 = 1670.5, INT8 "
                       "3,341/2 = 1670.5 TOPS (one transcription labels INT8 'teraFLOPS'); fp32 60 is the non-tensor rate "
                       "(no sparsity). link_bw_gb_per_s 600 = NVIDIA's NVLink figure (total bidirectional, as published) over "
                       "the NVLink bridge that joins cards in PAIRS; beyond a pair traffic goes over PCIe Gen5 (128 GB/s "
                       "bidirectional x16), so tp > 2 is optimistic with this link figure. int4 EMPTY (not published for Hopper)"),
        _acc_row(id="RTX-A6000-48GB", aliases="A6000;RTX A6000;rtx-a6000", vendor="NVIDIA", family="ampere",
                 memory_gb=48.0, mem_bw_gb_per_s=768.0, fp32_tflops=38.71, fp16_tflops=154.8, bf16_tflops=154.8,
                 int8_tops=309.7, int4_tops=619.3, interconnect="PCIe Gen4", tdp_w=300.0,
                 source="public code GPU tables (find_string hits id 31190821273 and 30862149169: 'RTX A6000': vram_gb 48, bandwidth_gb_s 768); "
                        "fp32/TDP: https://huggingface.co/datasets/ohdoking/gpu_spec/blob/main/data/nvidia_gpu.csv "
                        "(NVIDIA RTX A6000, 48 GB, 300 W, FP32 38.71 TFLOPS); tensor rates: "
                        "https://llmperf.net/categories/gpu/Nvidia-A6000-GPUs (spec summary citing Microway's 'In-Depth "
                        "Comparison of NVIDIA Ampere GPU Accelerators', https://www.microway.com/knowledge-center-articles/"
                        "in-depth-comparison-of-nvidia-ampere-gpu-accelerators/: FP16/BF16 154.8 TFLOPS dense (~309.7 with "
                        "structured sparsity), INT8 309.7 TOPS, INT4 619.3 TOPS, PCI Express 4.0 x16, 300 W); NVLink: "
                        "https://servethehome.com/nvidia-rtx-a6000-48gb-gpu-drops-quadro-designation (NVIDIA spec table: "
                        "'NVLink Interconnect 112.5 GB/s (bidirectional)', 2-way, 'Graphics Bus PCI Express 4.0 x16', 768 GB/s, 300 W)",
                 retrieved=LOOKUP_RETRIEVED,
                 notes="tensor rates are third-party transcriptions (NVIDIA's GA102 whitepaper appendix C was not readable in "
                       "the index); consistency check: the A40 datasheet (same GA102, 1740 MHz boost) prints FP16/BF16 149.7 "
                       "dense and INT8 299.3 TOPS (https://www.ecer.com/corp/details-uuuedqa-p1bsay9-multi-display-setups-supported-"
                       "by-48gb-gddr6-ecc-memory-nvidia-a40-gpu-and-vga-outputs.html), x 1800/1740 (boost clocks per "
                       "https://sysrqmts.com/es/gpus/compare/nvidia-rtx-a6000-vs-nvidia-tesla-p40 and "
                       "https://sysrqmts.com/fr/gpus/compare/nvidia-a40-pcie-vs-nvidia-quadro-rtx-6000) = 154.9 / 309.6, matching; "
                       "the earlier conflicting 38.7 'fp16' in one code table is the non-tensor rate. Professional Ampere "
                       "runs FP16 with FP32 accumulate at full rate (unlike GeForce). link_bw_gb_per_s EMPTY on purpose: the "
                       "NVLink bridge (112.5 GB/s bidirectional) joins only 2 cards and cloud instances do not state it, so "
                       "the planner uses the PCIe Gen4 x16 default; no FP8/FP4 tensor cores; low-confidence provenance for "
                       "memory/bandwidth (repositories not exposed by the index; the servethehome table agrees: 48 GB, 768 GB/s)"),
    ]
    # ---- extra accelerators (2026-11-30 lookup): consumer/workstation cards and the 32 GB V100 PCIe ----
    ref_v100p = next(r for r in rows if r["id"] == "V100-PCIe-16GB")
    v100p32 = dict(ref_v100p)
    v100p32.update(
        id="V100-PCIe-32GB", aliases="V100 PCIe 32GB;Tesla V100 PCIe 32GB;V100-PCIE-32GB", memory_gb=32.0,
        notes="same PCIe part with 32 GB (reference V100 PCIe notes: '16 or 32 GB variants'); every other cell copied "
              "from the reference V100 PCIe row (one row for both variants there); no BF16/FP8/INT8 tensor cores",
    )
    rows.append(v100p32)
    rows += [
        _acc_row(id="RTX-3090-24GB", aliases="RTX 3090;GeForce RTX 3090;rtx3090", vendor="NVIDIA", family="ampere",
                 memory_gb=24.0, mem_bw_gb_per_s=936.0, fp32_tflops=35.6, fp16_tflops=142.0, tdp_w=350.0,
                 source="https://holynerdvana.blogspot.com/2022/10/nvidia-geforce-rtx-3090-specifications.html "
                        "(spec table: 24 GB, 936 GB/s, FP32 35.6 TFLOPS, 'FP16 TFLOPS (Sparsity) 142 (285)', 350 W TBP)",
                 retrieved=LOOKUP_RETRIEVED,
                 notes="third-party transcription of NVIDIA's launch specs; fp16_tflops 142 = the dense figure the page gives "
                       "(half its sparse 285). CAVEAT: on GeForce parts this headline is the FP16-accumulate tensor rate; the "
                       "FP32-accumulate rate engines use may be lower (not stated in the source read). bf16, int8, int4 EMPTY "
                       "(not stated); no FP8 tensor cores"),
        _acc_row(id="RTX-4090-24GB", aliases="RTX 4090;GeForce RTX 4090;rtx4090", vendor="NVIDIA", family="ada",
                 memory_gb=24.0, mem_bw_gb_per_s=1008.0, fp32_tflops=82.58, fp16_tflops=165.15, bf16_tflops=165.15,
                 fp8_tflops=330.3, int8_tops=660.6, int4_tops=1321.21, tdp_w=450.0,
                 source="https://waredb.com/processor/nvidia-geforce-rtx-4090 (matrix table: FP16/BF16 165.15 dense / 330.30 "
                        "sparse, FP8 330.30 / 660.60, INT8 660.60 / 1321.21, INT4 1321.21 / 2642.41, FP32 82.58, 24 GB, 1008 GB/s); "
                        "450 W TBP: https://holynerdvana.blogspot.com/2022/10/nvidia-geforce-rtx-4090-specifications.html",
                 retrieved=LOOKUP_RETRIEVED,
                 notes="dense = half the sparse figures, FP32-accumulate rates (Ada whitepaper convention for GeForce: "
                       "FP16-accumulate rates are 2x, e.g. FP16 330.3 / FP8 660.6 dense as listed by gigagpu.com); "
                       "third-party transcriptions of NVIDIA's Ada whitepaper"),
        _acc_row(id="RTX-5090-32GB", aliases="RTX 5090;GeForce RTX 5090;rtx5090", vendor="NVIDIA", family="blackwell",
                 memory_gb=32.0, mem_bw_gb_per_s=1792.0, fp16_tflops=419.2, fp8_tflops=838.4, fp4_tflops=1676.0,
                 tdp_w=575.0, interconnect="PCIe Gen5",
                 source="https://www.spheron.network/blog/nvidia-rtx-5090-specs/ (datasheet table: 32 GB GDDR7, 1,792 GB/s, "
                        "FP16 tensor 838.4 sparse, FP8 ~1,676.8 sparse, FP4 3,352 TOPS sparse = AI TOPS, 575 W); "
                        "https://pocketmags.com/linux-format-magazine/may-2025/articles/nvidia-geforce-rtx-5090 "
                        "(838 FP16, 3,352 FP8/4, 1,792 GB/s, 575 W)",
                 retrieved=LOOKUP_RETRIEVED,
                 notes="dense = half the sparse headline (838.4/2, 1676.8/2, 3352/2). fp32_tflops EMPTY: the sources differ "
                       "(104 vs ~105.2). bf16_tflops EMPTY: the FP16 figure is likely the FP16-accumulate rate and no BF16 "
                       "(FP32-accumulate) figure was stated; int8/int4 not stated. Third-party pages, not NVIDIA's datasheet"),
        _acc_row(id="RTX-PRO-6000-96GB", aliases="RTX PRO 6000;RTX PRO 6000 Blackwell;RTX Pro 6000 Blackwell Workstation Edition;rtx-pro-6000",
                 vendor="NVIDIA", family="blackwell", memory_gb=96.0, mem_bw_gb_per_s=1792.0, fp32_tflops=125.0,
                 fp16_tflops=503.8, bf16_tflops=503.8, fp8_tflops=1007.6, fp4_tflops=2000.0, int8_tops=1007.6,
                 tdp_w=600.0, interconnect="PCIe Gen5",
                 source="https://www.topcpu.net/es/news/nvidia-launches-96gb-rtx-5090-model-with-a-whopping-price-tag-of-10000 "
                        "(GTC 2025: 96 GB GDDR7, 512-bit 28 Gbps, FP32 up to 125 TFLOPS, 4,000 AI TOPS FP4); "
                        "https://gpu.name/posts/nvidia-unveils-rtx-pro-6000-blackwell-gpu-with-24-064-cores-and-96gb-memory "
                        "(1,792 GB/s, 600 W); tensor rates: https://hmc-tech.com/gpu/nvidia-rtx-pro-6000-blackwell-vs-amd-radeon-pro-duo-polaris "
                        "(RTX PRO 6000 Blackwell, 600 W, 2617 MHz: FP16 and BF16 Tensor 503.8 TFLOPS dense / 1.01 PFLOPS sparse "
                        "with FP16 and with FP32 accumulate; FP8 Tensor 1.01 PFLOPS dense / 2.02 sparse; INT8 Tensor 1.01 POPS / "
                        "2.02 sparse; FP4 Tensor 2.02 PFLOPS / 4.03 sparse; FP32 125.95 TFLOPS)",
                 retrieved=LOOKUP_RETRIEVED,
                 notes="Workstation Edition figures (the Max-Q edition has a lower power limit; the Server Edition's figures were "
                       "not read). fp4_tflops 2000 = half the 4,000 AI TOPS sparse headline (hmc-tech: 2.02 PFLOPS dense, "
                       "consistent). fp16/bf16 503.8 dense as printed (third-party spec database, not NVIDIA's datasheet; full "
                       "rate with FP32 accumulate on this professional part, = fp4/4 as on other Blackwell parts). fp8 and "
                       "int8 1007.6 DERIVED = 2 x 503.8 (the page prints the rounded 1.01 PFLOPS / POPS). int4 EMPTY (not "
                       "stated). One third-party page gives 1.8 TB/s (rounded), another 1.5 TB/s (conflict; 1792 = 28 Gbps x "
                       "512 bit / 8 per two sources)"),
    ]
    # ---- extra accelerators (2026-11-30 lookup, issue 3 coverage): GB200 per GPU ----
    rows.append(_acc_row(
        id="GB200-186GB", aliases="GB200;GB200 NVL72;gb200-nvl72;Blackwell GB200;GB200 186GB",
        vendor="NVIDIA", family="blackwell", memory_gb=186.0, mem_bw_gb_per_s=8000.0, fp32_tflops=80.0,
        fp16_tflops=2500.0, bf16_tflops=2500.0, fp8_tflops=5000.0, fp4_tflops=10000.0, int8_tops=5000.0,
        interconnect="NVLink 5 (NVL72 NVLink Switch domain)", link_bw_gb_per_s=1800.0, tdp_w=1200.0,
        source=SRC_NV_GB200, retrieved=LOOKUP_RETRIEVED,
        notes="ONE Blackwell GPU of a GB200 Grace Blackwell Superchip (2 GPUs + 1 Grace CPU) as deployed in GB200 NVL72. "
              "Per-GPU values DERIVED from the superchip column (/2 GPUs) and cross-checked with NVIDIA's per-GPU table: "
              "memory 372/2 = 186 GB (= 13.4 TB / 72 GPUs; per-GPU table and MIG table: 186 GB); bandwidth 16/2 = 8 TB/s = "
              "8000 GB/s; dense tensor = sparse/2 (NVIDIA footnote) /2 GPUs: FP16/BF16 10 PFLOPS -> 2500, FP8 20 -> 5000, "
              "INT8 20 POPS -> 5000 TOPS (per-GPU table: 5 PFLOPS / 10 PFLOPS / 10 POPS sparse, same result); FP4 dense "
              "20 PFLOPS / 2 = 10000 (per-GPU table 20 PFLOPS sparse); fp32 160/2 = 80 (non-tensor; per-GPU table 80). "
              "link 3.6 TB/s / 2 = 1800 GB/s per GPU (fifth-generation NVLink, total bidirectional as NVIDIA publishes; the "
              "NVLink domain is the 72-GPU rack, not one node). tdp_w 1200 = 'Configurable up to 1,200 W' (per-GPU table). "
              "Earlier NVIDIA material said 'up to 384 GB HBM3e' per superchip (192 per GPU) - superseded by 372 GB. Grace "
              "LPDDR5X (up to 480 GB per superchip over NVLink-C2C) is not counted. Higher clocks than HGX B200 "
              "(B200-SXM-192GB row: 2250 bf16 dense; the per-GPU table's HGX B200 column: 4.5 PFLOPS sparse, 180 GB, 7.7 TB/s). "
              "int4 EMPTY (not published)",
    ))
    df = pd.DataFrame(rows, columns=ACCELERATORS.names)
    return df


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------
MODEL_IDS = {  # reference name -> (id, family, aliases)
    "Llama-3.1-8B": ("llama-3.1-8b", "llama-3.1",
                     "meta-llama/Llama-3.1-8B;meta-llama/Llama-3.1-8B-Instruct;meta-llama/Meta-Llama-3.1-8B;"
                     "meta-llama/Meta-Llama-3.1-8B-Instruct;Llama-3.1-8B;LLaMA v3.1 8B"),
    "Llama-3.1-70B": ("llama-3.1-70b", "llama-3.1",
                      "meta-llama/Llama-3.1-70B;meta-llama/Llama-3.1-70B-Instruct;meta-llama/Meta-Llama-3.1-70B;"
                      "meta-llama/Meta-Llama-3.1-70B-Instruct;Llama-3.1-70B;LLaMA v3.1 70B"),
    "Llama-3.1-405B": ("llama-3.1-405b", "llama-3.1",
                       "meta-llama/Llama-3.1-405B;meta-llama/Llama-3.1-405B-Instruct;meta-llama/Meta-Llama-3.1-405B;"
                       "meta-llama/Meta-Llama-3.1-405B-Instruct;Llama-3.1-405B"),
    "Llama-3.2-1B": ("llama-3.2-1b", "llama-3.2", "meta-llama/Llama-3.2-1B;meta-llama/Llama-3.2-1B-Instruct;Llama-3.2-1B"),
    "Llama-3.2-3B": ("llama-3.2-3b", "llama-3.2", "meta-llama/Llama-3.2-3B;meta-llama/Llama-3.2-3B-Instruct;Llama-3.2-3B"),
    "Llama-2-7B": ("llama-2-7b", "llama-2", "meta-llama/Llama-2-7b-hf;meta-llama/Llama-2-7b-chat-hf;Llama-2-7B"),
    "Llama-2-13B": ("llama-2-13b", "llama-2", "meta-llama/Llama-2-13b-hf;meta-llama/Llama-2-13b-chat-hf;Llama-2-13B"),
    "Llama-2-70B": ("llama-2-70b", "llama-2", "meta-llama/Llama-2-70b-hf;meta-llama/Llama-2-70b-chat-hf;Llama-2-70B"),
    "Mistral-7B-v0.1": ("mistral-7b", "mistral", "mistralai/Mistral-7B-v0.1;mistralai/Mistral-7B-Instruct-v0.1;Mistral-7B-v0.1;Mistral 7B"),
    "Mixtral-8x7B-v0.1": ("mixtral-8x7b", "mixtral",
                          "mistralai/Mixtral-8x7B-v0.1;mistralai/Mixtral-8x7B-Instruct-v0.1;Mixtral-8x7B-v0.1;Mixtral 8x7B"),
    "Mixtral-8x22B-v0.1": ("mixtral-8x22b", "mixtral",
                           "mistralai/Mixtral-8x22B-v0.1;mistralai/Mixtral-8x22B-Instruct-v0.1;Mixtral-8x22B-v0.1;Mixtral 8x22B"),
    "Qwen2.5-7B": ("qwen2.5-7b", "qwen2.5", "Qwen/Qwen2.5-7B;Qwen/Qwen2.5-7B-Instruct;Qwen2.5-7B"),
    "Qwen2.5-14B": ("qwen2.5-14b", "qwen2.5", "Qwen/Qwen2.5-14B;Qwen/Qwen2.5-14B-Instruct;Qwen2.5-14B"),
    "Qwen2.5-32B": ("qwen2.5-32b", "qwen2.5", "Qwen/Qwen2.5-32B;Qwen/Qwen2.5-32B-Instruct;Qwen2.5-32B"),
    "Qwen2.5-72B": ("qwen2.5-72b", "qwen2.5", "Qwen/Qwen2.5-72B;Qwen/Qwen2.5-72B-Instruct;Qwen2.5-72B"),
    "Qwen3-30B-A3B": ("qwen3-30b-a3b", "qwen3", "Qwen/Qwen3-30B-A3B;Qwen3-30B-A3B"),
    "Qwen3-235B-A22B": ("qwen3-235b-a22b", "qwen3", "Qwen/Qwen3-235B-A22B;Qwen3-235B-A22B"),
    "DeepSeek-V3": ("deepseek-v3", "deepseek-v3", "deepseek-ai/DeepSeek-V3;DeepSeek-V3"),
    "Gemma-2-9B": ("gemma-2-9b", "gemma-2", "google/gemma-2-9b;google/gemma-2-9b-it;Gemma-2-9B"),
    "Gemma-2-27B": ("gemma-2-27b", "gemma-2", "google/gemma-2-27b;google/gemma-2-27b-it;Gemma-2-27B"),
    "Phi-3-mini-4k-instruct": ("phi-3-mini-4k", "phi-3", "microsoft/Phi-3-mini-4k-instruct;Phi-3-mini-4k-instruct"),
    "Flan-T5-XL": ("flan-t5-xl", "flan-t5", "google/flan-t5-xl;Flan-T5-XL"),
    "LLaVA-1.5-7B": ("llava-1.5-7b", "llava-1.5", "llava-hf/llava-1.5-7b-hf;liuhaotian/llava-v1.5-7b;LLaVA-1.5-7B"),
}


def dense_decoder_params(h, layers, heads, kv, hd, inter, vocab, tied: bool, qkv_bias: bool = False) -> float:
    """Parameters of a Llama-style decoder (gated MLP, RMSNorm, no biases except optional qkv bias), in 1e9.

    embeddings V*h (+ V*h lm_head unless tied) + layers * (h*H*hd [q] + 2*h*kv*hd [k,v] + H*hd*h [o]
    + 3*h*inter [gate,up,down] + 2*h [norms] (+ H*hd + 2*kv*hd qkv bias)) + h [final norm].
    """
    per_layer = h * heads * hd + 2 * h * kv * hd + heads * hd * h + 3 * h * inter + 2 * h
    if qkv_bias:
        per_layer += heads * hd + 2 * kv * hd
    emb = vocab * h * (1 if tied else 2)
    return (emb + layers * per_layer + h) / 1e9


FORMULA = ("params_b DERIVED from the dims: V*h*(2 if untied else 1) + L*(2*h*H*hd + 2*h*KV*hd + 3*h*I + 2*h) + h "
           "(Llama-style gated MLP, no biases), = {v:.3f}B")


def _model_row(**kw) -> dict:
    row = {c: None for c in MODELS.names}
    row.update(kw)
    return row


def build_models(ref: Path) -> pd.DataFrame:
    src = pd.read_csv(ref / "models.csv")
    rows = []
    for _, r in src.iterrows():
        mid, family, aliases = MODEL_IDS[r["name"]]
        notes = [] if pd.isna(r["notes"]) else [str(r["notes"])]
        attn = r["attention_type"]
        row = _model_row(
            id=mid, aliases=aliases, family=family, arch_type=r["arch_type"], params_b=r["params_b"],
            active_params_b=r["active_params_b"], num_layers=r["num_layers"], hidden_size=r["hidden_size"],
            num_attention_heads=r["num_attention_heads"], num_kv_heads=r["num_kv_heads"], head_dim=r["head_dim"],
            intermediate_size=r["intermediate_size"], vocab_size=r["vocab_size"], num_experts=r["num_experts"],
            experts_per_token=r["experts_per_token"], max_context=r["max_context"], attention_type=attn,
            source=f"{r['source']} ({VIA_REF.format(f='models.csv')})", retrieved=REF_RETRIEVED,
        )
        # MoE: the reference puts the per-expert size in intermediate_size
        if mid in ("mixtral-8x7b", "mixtral-8x22b"):
            row["moe_intermediate_size"] = row["intermediate_size"]
            row["intermediate_size"] = None
            row["first_dense_layers"] = 0
            notes.append("moe_intermediate_size = the reference intermediate_size (per expert); every layer is MoE")
        if mid == "mixtral-8x7b":
            row["active_params_b"] = 12.9
            row["source"] += "; active params: https://compareaimodels.com/mixtral-8x7b (46.7B total, 12.9B used per token, as announced by Mistral AI)"
        if mid == "mixtral-8x22b":
            row["active_params_b"] = 39.0
            row["source"] += ("; active params: ZHUI/paddlenlp_model_readme:Qwen/Qwen2-72B/index.md@ffc26950e6a9f69fb01d7c9b64607770d729e56b "
                              "(HF Qwen2-72B card table: Mixtral-8x22B #Activated Params 39B, #Params 140B)")
            notes.append("Qwen2 card lists 140B total (reference: 141B nominal from Cerebras)")
        if mid == "qwen3-30b-a3b":
            row["moe_intermediate_size"] = row["intermediate_size"]
            row["intermediate_size"] = None
            row["first_dense_layers"] = 0
            notes.append("moe_intermediate_size = reference intermediate_size column; first_dense_layers 0 (mlp_only_layers empty)")
        if mid == "qwen3-235b-a22b":
            row["moe_intermediate_size"] = row["intermediate_size"]
            row["intermediate_size"] = None
            row["first_dense_layers"] = 0
            notes.append("moe_intermediate_size = reference intermediate_size column; first_dense_layers 0 (all 94 layers MoE)")
            if pd.isna(row["max_context"]):
                row["max_context"] = 40960
                row["source"] += ("; max_context: config table with Qwen3-235B-A22B {Qwen3MoeForCausalLM, 94 layers, 64 heads, "
                                  "4 KV heads, head_dim 128, hidden 4096, max_position_embeddings 40960} (find_string hit id "
                                  "9990193600, repository not exposed)")
                notes.append("max_context 40960 = max_position_embeddings (LOW-CONFIDENCE provenance; the same value as every "
                             "other Qwen3 config in this catalog; the cards advertise 32,768 native / 131,072 with YaRN)")
        if mid == "deepseek-v3":
            row.update(moe_intermediate_size=2048, intermediate_size=18432, num_shared_experts=1,
                       first_dense_layers=3, kv_lora_rank=512, qk_rope_head_dim=64)
            notes.append("from the reference notes: dense FFN 18432 in the first 3 layers, moe_intermediate 2048, 1 shared "
                         "expert, kv_lora_rank 512, qk_rope_head_dim 64; head_dim 192 = qk head dim (nope 128 + rope 64), v_head_dim 128")
        if mid == "mistral-7b":
            row["sliding_window"] = 4096
            notes.append("sliding_window 4096 (v0.1, every layer); attention_type kept GQA (8 KV heads) with the window in sliding_window")
        if mid in ("gemma-2-9b", "gemma-2-27b"):
            row["sliding_window"] = 4096
            row["global_attention_every"] = 2
            L = int(row["num_layers"])
            row["source"] += f"; attention pattern: {SRC_GEMMA2_LAYERS}"
            notes.append(f"local/global attention: sliding_window 4096 on alternate layers, global_attention_every 2 = "
                         f"{L // 2} global + {L - L // 2} local layers (the reference notes and transformers' Gemma2Config agree)")
        if mid == "flan-t5-xl":
            row["encoder_layers"] = 24
            row["num_layers"] = 24
            notes.append("num_layers = 24 decoder layers, encoder_layers = 24 (t5x xl.gin)")
        if mid == "llava-1.5-7b":
            row["image_tokens"] = 576
            notes.append("image_tokens 576 DERIVED: (336/14)^2 = 24*24 patches of CLIP ViT-L/14 at 336 px (reference notes)")
        if mid == "phi-3-mini-4k":
            v = dense_decoder_params(3072, 32, 32, 32, 96, 8192, 32064, tied=False)
            row["params_b"] = round(v, 3)
            notes.append(FORMULA.format(v=v))
        row["notes"] = "; ".join(notes) or None
        rows.append(row)

    # ---- extra models: the calibration ids missing from the reference, and llama-3.3-70b ----
    vidur = "microsoft/vidur:data/model_configs/{p}@{c}"
    extra = [
        _model_row(
            id="llama-3-8b", aliases="meta-llama/Meta-Llama-3-8B;meta-llama/Meta-Llama-3-8B-Instruct;Llama-3-8B;LLaMA v3 8B",
            family="llama-3", arch_type="decoder", params_b=8.0, num_layers=32, hidden_size=4096,
            num_attention_heads=32, num_kv_heads=8, head_dim=128, intermediate_size=14336, vocab_size=128256,
            max_context=8192, attention_type="GQA",
            source="kevinstephano/thunder_model_blocks:thunder_model_blocks/llama/llama_3_8B_Instruct_config.py@4b180c4fedfe518387c051706be7e200a367e4e0 "
                   "(copy of meta-llama/Meta-Llama-3-8B-Instruct config.json); "
                   + vidur.format(p="meta-llama/Meta-Llama-3-8B.yml", c="5555bb810209639fed7a774a0b40b77cfca5ee33"),
            retrieved=LOOKUP_RETRIEVED,
            notes="params_b nominal from the model name; head_dim derived as hidden/heads (HF default); "
                  "max_position_embeddings 8192 in the config (vidur's yml uses 4096 for its own runs); rope_theta 500000",
        ),
        _model_row(
            id="llama-3-70b", aliases="meta-llama/Meta-Llama-3-70B;meta-llama/Meta-Llama-3-70B-Instruct;Llama-3-70B;LLaMA v3 70B",
            family="llama-3", arch_type="decoder", params_b=70.0, num_layers=80, hidden_size=8192,
            num_attention_heads=64, num_kv_heads=8, head_dim=128, intermediate_size=28672, vocab_size=128256,
            max_context=8192, attention_type="GQA",
            source=vidur.format(p="meta-llama/Meta-Llama-3-70B.yml", c="1478250bb8be249631e2b7353948faf662e28665"),
            retrieved=LOOKUP_RETRIEVED,
            notes="params_b nominal from the model name; head_dim derived as hidden/heads (HF default); rope_theta 500000",
        ),
        _model_row(
            id="llama-3.3-70b", aliases="meta-llama/Llama-3.3-70B-Instruct;Llama-3.3-70B;Llama 3.3 70B",
            family="llama-3.3", arch_type="decoder", params_b=70.0, num_layers=80, hidden_size=8192,
            num_attention_heads=64, num_kv_heads=8, head_dim=128, intermediate_size=28672, vocab_size=128256,
            max_context=131072, attention_type="GQA",
            source="oumi-ai/oumi:configs/recipes/llama3_3/README.md@bd18cd68cdcdb3b1942c9813689c5c3e4d7d9977 (model info table)",
            retrieved=LOOKUP_RETRIEVED,
            notes="params_b nominal from the model name; head_dim derived as hidden/heads; weight tying False; "
                  "max length 131072 (initially trained with 8192)",
        ),
        _model_row(
            id="mistral-nemo-12b",
            aliases="mistralai/Mistral-Nemo-Base-2407;mistralai/Mistral-Nemo-Instruct-2407;Mistral-Nemo-Instruct-2407;Mistral NeMo",
            family="mistral-nemo", arch_type="decoder", num_layers=40, hidden_size=5120,
            num_attention_heads=32, num_kv_heads=8, head_dim=128, intermediate_size=14336, vocab_size=131072,
            max_context=128000, attention_type="GQA",
            source="kevinstephano/thunder_model_blocks:thunder_model_blocks/mistral/mistral_config.py@a23dd8fe87e974d06332635cfd3064614c47ae27 "
                   "(copy of mistralai/Mistral-Nemo-Base-2407 config.json)",
            retrieved=LOOKUP_RETRIEVED,
            notes="head_dim 128 is set explicitly (32*128 = 4096 != hidden 5120); sliding_window null; untied embeddings; "
                  "max_position_embeddings 128000 in the Base config (the model card says 128k context window)",
        ),
        _model_row(
            id="mistral-large-123b",
            aliases="mistralai/Mistral-Large-Instruct-2407;Mistral-Large-Instruct-2407;Mistral Large 2;mistral-large-2407",
            family="mistral-large", arch_type="decoder", params_b=123.0, num_layers=88, hidden_size=12288,
            num_attention_heads=96, num_kv_heads=8, head_dim=128, intermediate_size=28672, vocab_size=32768,
            max_context=131072, attention_type="GQA",
            source="params.json copy with dim 12288, n_layers 88, head_dim 128, hidden_dim 28672, n_heads 96, n_kv_heads 8, "
                   "vocab_size 32768 (find_string hit id 55950089162, a Pixtral-Large neuron script whose text decoder is Mistral Large 2; "
                   "repository not exposed); 88 layers also in the mlx-community/Mistral-Large-Instruct-2407-4bit shard map "
                   "(find_string hit id 7789379910, layers 0-87); vocab 32768 per mistralai/mistral-inference README model table; "
                   "123B and 131072 context: xorbitsai/inference doc mistral-large-instruct.rst",
            retrieved=LOOKUP_RETRIEVED,
            notes="LOW-CONFIDENCE provenance for the dims (not a direct copy of the 2407 config.json); apxml.com lists "
                  "64 layers / 48 heads for this model, which conflicts with the params.json and the 88-layer shard map - "
                  "the params.json values are used; params_b nominal 123",
        ),
        _model_row(
            id="qwen2-7b", aliases="Qwen/Qwen2-7B;Qwen/Qwen2-7B-Instruct;Qwen2-7B",
            family="qwen2", arch_type="decoder", params_b=7.0, num_layers=28, hidden_size=3584,
            num_attention_heads=28, num_kv_heads=4, head_dim=128, intermediate_size=18944, vocab_size=152064,
            max_context=32768, attention_type="GQA",
            source="Retruth/deontic:nlp_models/qwen2/README.md (printed Qwen2Config of Qwen/Qwen2-7B-Instruct and the module tree: "
                   "Embedding(152064, 3584)); architecture table of the Qwen2 Technical Report (arXiv 2407.10671) as quoted at "
                   "https://blog.omagiclee.com/posts/llms/qwens/qwen-2",
            retrieved=LOOKUP_RETRIEVED,
            notes="max_context 32768 = max_position_embeddings of the Instruct config copy (the report says 7B/72B support "
                  "128K with YaRN + DCA); vocab_size 152064 = embedding rows (tokenizer has 151,646 tokens); params_b nominal; "
                  "QKV bias (adds < 0.001B)",
        ),
        _model_row(
            id="qwen2-72b", aliases="Qwen/Qwen2-72B;Qwen/Qwen2-72B-Instruct;Qwen2-72B",
            family="qwen2", arch_type="decoder", params_b=72.0, num_layers=80, hidden_size=8192,
            num_attention_heads=64, num_kv_heads=8, head_dim=128, intermediate_size=29568, vocab_size=152064,
            max_context=32768, attention_type="GQA",
            source="architecture table of the Qwen2 Technical Report (arXiv 2407.10671) as quoted at "
                   "https://blog.omagiclee.com/posts/llms/qwens/qwen-2; vocab 152,064 and 32.768K context: https://apxml.com/models/qwen2-72b; "
                   "#Params 72B: ZHUI/paddlenlp_model_readme:Qwen/Qwen2-72B/index.md@ffc26950e6a9f69fb01d7c9b64607770d729e56b",
            retrieved=LOOKUP_RETRIEVED,
            notes="apxml lists 128 attention heads, which conflicts with the technical report (64 query heads); the report is used; "
                  "the Qwen2-72B-Instruct card says up to 131,072 tokens with YaRN",
        ),
        _model_row(
            id="internlm-20b", aliases="internlm/internlm-20b;internlm/internlm-chat-20b;InternLM-20B",
            family="internlm", arch_type="decoder", params_b=20.0, num_layers=60, hidden_size=5120,
            num_attention_heads=40, num_kv_heads=40, head_dim=128, intermediate_size=13824, vocab_size=103168,
            max_context=4096, attention_type="MHA",
            source=vidur.format(p="internlm/internlm-20b.yml", c="e2d00e9afba96cec9f0e7ea560bbfc4a539fae6a")
                   + "; 20B: InternLM/InternLM:model_cards/internlm_20b.md and xorbitsai/inference doc internlm-20b.rst",
            retrieved=LOOKUP_RETRIEVED,
            notes="head_dim derived as hidden/heads; params_b nominal; max_position_embeddings 4096 per vidur "
                  "(the card claims 16k context through inference extrapolation)",
        ),
    ]
    # ---- extra models (2026-11-30 lookup): commonly deployed models missing above ----
    mlc = "mlc-ai/mlc-llm:python/mlc_llm/model/model_preset.py@f2b1ffe068a84d4703fb695ac9a3615c88713a1a"
    extra += [
        _model_row(
            id="llama-4-scout-17b-16e",
            aliases="meta-llama/Llama-4-Scout-17B-16E;meta-llama/Llama-4-Scout-17B-16E-Instruct;Llama-4-Scout-17B-16E;Llama 4 Scout",
            family="llama-4", arch_type="moe", params_b=109.0, active_params_b=17.0, num_layers=48, hidden_size=5120,
            num_attention_heads=40, num_kv_heads=8, head_dim=128, intermediate_size=16384, moe_intermediate_size=8192,
            vocab_size=202048, num_experts=16, experts_per_token=1, num_shared_experts=1, first_dense_layers=0,
            max_context=262144, attention_type="GQA",
            attention_chunk_size=8192, global_attention_every=4,
            source="printed Llama4Config of meta-llama/Llama-4-Scout-17B-16E with a parameter table, 'Total Trainable Params: "
                   "109,676,279,296 (109B)' (find_string hit id 41112263523; repository not exposed by the index; its text_config "
                   "has attention_chunk_size 8192 and no_rope_layers [1,1,1,0] x 12); same text dims in "
                   "Shameerisb/llama-4-scout_Implementation_Pytorch:configs/text_config.py; 17B active / 109B total / 16 experts: "
                   f"Llama 4 announcement as summarised in public notes (code search); attention pattern: {SRC_LLAMA4_LAYERS}",
            retrieved=LOOKUP_RETRIEVED,
            notes="text_config: interleave_moe_layer_step 1 (all 48 layers MoE, moe_layers 0..47), num_local_experts 16, "
                  "num_experts_per_tok 1, intermediate_size 8192 = per-expert FFN (moe_intermediate_size here), "
                  "intermediate_size_mlp 16384 = dense FFN (intermediate_size here, unused since every layer is MoE); "
                  "num_shared_experts 1 = Llama 4's always-on shared expert (MoE 'with shared expert', same size as a routed "
                  "expert); params_b 109 includes the vision encoder; max_context 262144 = max_position_embeddings of the printed "
                  "config (a vLLM/issue copy of the text config gives 262144 too; a test fixture gives 10485760, the 10M context "
                  "Meta advertises - conflict); chunked local attention: attention_chunk_size 8192 on the 36 RoPE layers, "
                  "global (NoPE) attention on every 4th layer (global_attention_every 4 = 12 global layers); LOW-CONFIDENCE provenance",
        ),
        _model_row(
            id="llama-4-maverick-17b-128e",
            aliases="meta-llama/Llama-4-Maverick-17B-128E;meta-llama/Llama-4-Maverick-17B-128E-Instruct;"
                    "meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8;Llama-4-Maverick-17B-128E;Llama 4 Maverick",
            family="llama-4", arch_type="moe", params_b=400.0, active_params_b=17.0, num_layers=48, hidden_size=5120,
            num_attention_heads=40, num_kv_heads=8, head_dim=128, intermediate_size=16384, moe_intermediate_size=8192,
            vocab_size=202048, num_experts=128, experts_per_token=1, num_shared_experts=1, first_dense_layers=24,
            max_context=1048576, attention_type="GQA", attention_chunk_size=8192, global_attention_every=4,
            source="TensorRT-LLM unit-test copy of the Llama-4-Maverick config reduced to 2 layers ('This is Llama4 Maverick "
                   "config but with only 2 layers'; find_string hit id 115210306): hidden 5120, heads 40, kv 8, head_dim 128, "
                   "intermediate_size 8192, intermediate_size_mlp 16384, interleave_moe_layer_step 2, num_local_experts 128, "
                   "num_experts_per_tok 1, max_position_embeddings 1048576, vocab 202048; 48 layers and moe-layer-freq ([0,1]*24): "
                   "Megatron args for meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8 (code search excerpt); 400B total / 17B "
                   "active / 128 experts: Hugging Face blog 'Welcome Llama 4 Maverick & Scout' (~400B) and public notes; "
                   f"attention pattern: attention_chunk_size 8192 in the same test copy, whose no_rope_layer_interval 2 is "
                   f"marked 'Added so that both RoPE and no-RoPE layers are present', i.e. not the model's: {SRC_LLAMA4_LAYERS}",
            retrieved=LOOKUP_RETRIEVED,
            notes="num_layers 48 from the Megatron args (the test copy has 2): MoE and dense layers ALTERNATE "
                  "(interleave_moe_layer_step 2: 24 MoE + 24 dense). first_dense_layers = 24 is the COUNT of dense layers (the "
                  "planner only uses the count; they are interleaved, not leading). params_b 400 nominal (one code comment says "
                  "402B); includes the vision encoder. Chunked local attention: attention_chunk_size 8192 on the RoPE layers, "
                  "global (NoPE) attention every 4th layer (global_attention_every 4 = 12 of 48, transformers' default interval; "
                  "the published Maverick config.json was not read). "
                  "LOW-CONFIDENCE provenance (repositories of the config copies not exposed by the index)",
        ),
        _model_row(
            id="qwen3-8b", aliases="Qwen/Qwen3-8B;Qwen/Qwen3-8B-Base;Qwen3-8B",
            family="qwen3", arch_type="decoder", num_layers=36, hidden_size=4096, num_attention_heads=32,
            num_kv_heads=8, head_dim=128, intermediate_size=12288, vocab_size=151936, max_context=40960,
            attention_type="GQA",
            source=mlc + " (HF config dict 'qwen3_8b', commented out in the preset list)",
            retrieved=LOOKUP_RETRIEVED,
            notes="tie_word_embeddings False; sliding_window null (use_sliding_window False); max_position_embeddings 40960 "
                  "(the card advertises 131072 with YaRN); no QKV bias (attention_bias False), q/k norms add < 0.001B",
        ),
        _model_row(
            id="phi-4", aliases="microsoft/phi-4;Phi-4;phi4-14b",
            family="phi-4", arch_type="decoder", params_b=14.0, num_layers=40, hidden_size=5120,
            num_attention_heads=40, num_kv_heads=10, head_dim=128, intermediate_size=17920, vocab_size=100352,
            max_context=16384, attention_type="GQA",
            source="copy of microsoft/phi-4 config.json ('_name_or_path': 'microsoft/phi-4', Phi3ForCausalLM: hidden 5120, "
                   "intermediate 17920, max_position_embeddings 16384, 40 heads, 40 layers, 10 KV heads, vocab 100352, "
                   "tie_word_embeddings false; find_string hit id 58256788114, repository not exposed); same dims in a Rust "
                   "phi4 test (hidden 5120, 40 heads, 40 layers, intermediate 17920, vocab 100352); 14B: "
                   "nosana-ci/pipeline-templates:templates/Microsoft-Phi/README.md and xinyuwei-david/david-share:Deep-Learning/Phi4/readme.md",
            retrieved=LOOKUP_RETRIEVED,
            notes="head_dim derived as hidden/heads = 128; sliding_window null; rope_theta 250000; params_b nominal 14 "
                  "(another table lists intermediate 20480 for phi-4 - conflicts with the config copy, which is used); "
                  "LOW-CONFIDENCE provenance for the dims",
        ),
        _model_row(
            id="falcon-7b", aliases="tiiuae/falcon-7b;tiiuae/falcon-7b-instruct;Falcon-7B",
            family="falcon", arch_type="decoder", params_b=7.0, num_layers=32, hidden_size=4544,
            num_attention_heads=71, num_kv_heads=1, head_dim=64, intermediate_size=18176, vocab_size=65024,
            max_context=2048, attention_type="MQA",
            source="copy of the tiiuae/falcon-7b config in a tt-metal style demo (find_string hit id 30274148586: hidden 4544, "
                   "71 heads, 32 layers, multi_query true, new_decoder_architecture false, vocab 65024); intermediate 18176 = "
                   "4*4544 (find_string hit id 62667560180, a FalconForCausalLM config with intermediate_size 18176); "
                   "2048 positions: Megatron-LLM falcon conversion args (find_string hit id 27818301263: max_position_embeddings 2048, "
                   "num_attention_heads_kv 1 for 7B)",
            retrieved=LOOKUP_RETRIEVED,
            notes="multi_query true = one KV head (num_kv_heads 1; the config's num_kv_heads field 71 is ignored in MQA mode); "
                  "head_dim 64 = 4544/71; NON-GATED GELU MLP (2 matrices, 4x) and parallel attention/MLP - the planner's "
                  "gated-FFN dims formula does not apply, so params_b (nominal 7) is set; LOW-CONFIDENCE provenance",
        ),
        _model_row(
            id="falcon-40b", aliases="tiiuae/falcon-40b;tiiuae/falcon-40b-instruct;Falcon-40B",
            family="falcon", arch_type="decoder", params_b=40.0, num_layers=60, hidden_size=8192,
            num_attention_heads=128, num_kv_heads=8, head_dim=64, max_context=2048, attention_type="GQA",
            source="Megatron-LLM falcon weight-conversion args (find_string hit id 27818301263: num_layers 60, hidden_size 8192, "
                   "num_attention_heads 128, num_attention_heads_kv 8, max_position_embeddings 2048); same 8192/128/60 in a "
                   "model-identifier table (find_string hit id 7806064252)",
            retrieved=LOOKUP_RETRIEVED,
            notes="head_dim 64 = 8192/128; intermediate_size and vocab_size EMPTY (not stated in the sources read; the MLP is "
                  "non-gated 4x); params_b nominal 40; LOW-CONFIDENCE provenance",
        ),
        _model_row(
            id="falcon-180b", aliases="tiiuae/falcon-180B;tiiuae/falcon-180B-chat;Falcon-180B",
            family="falcon", arch_type="decoder", params_b=180.0, num_layers=80, hidden_size=14848,
            num_attention_heads=232, num_kv_heads=8, head_dim=64, intermediate_size=59392, vocab_size=65024,
            attention_type="GQA",
            source=vidur.format(p="tiiuae/falcon-180B.yml", c="6d98aa8f71696520acc603d87439e77cc78160a7"),
            retrieved=LOOKUP_RETRIEVED,
            notes="head_dim 64 = 14848/232; use_gated_mlp false: intermediate_size 59392 feeds a 2-matrix GELU MLP (the "
                  "planner's gated formula would overcount, so params_b nominal 180 is set); max_context EMPTY (not in the source)",
        ),
        _model_row(
            id="gpt-j-6b", aliases="EleutherAI/gpt-j-6b;EleutherAI/gpt-j-6B;GPT-J-6B;GPT-J",
            family="gpt-j", arch_type="decoder", params_b=6.0, num_layers=28, hidden_size=4096,
            num_attention_heads=16, num_kv_heads=16, head_dim=256, intermediate_size=16384, vocab_size=50400,
            max_context=2048, attention_type="MHA",
            source=mlc + " (HF config dict 'gpt_j': n_embd 4096, n_head 16, n_layer 28, n_positions 2048, n_inner null, "
                   "rotary_dim 64, vocab 50400, tie_word_embeddings false); same values in cli99/llm-analysis:"
                   "llm_analysis/model_configs/EleutherAI_gpt-j-6b.json@b60b392f747850d198145889205d8a3586d00282 (not opened)",
            retrieved=LOOKUP_RETRIEVED,
            notes="head_dim 256 = 4096/16; intermediate_size 16384 = 4*n_embd, the HF default when n_inner is null; non-gated "
                  "GELU MLP with biases, parallel attention+MLP: params_b nominal 6 (from the name) is set so the gated dims "
                  "formula is not used",
        ),
        _model_row(
            id="internlm2-20b", aliases="internlm/internlm2-20b;internlm/internlm2-chat-20b;InternLM2-20B",
            family="internlm2", arch_type="decoder", params_b=20.0, num_layers=48, hidden_size=6144,
            num_attention_heads=48, num_kv_heads=8, head_dim=128, intermediate_size=16384, vocab_size=92544,
            max_context=32768, attention_type="GQA",
            source=vidur.format(p="internlm/internlm2-20b.yml", c="6d98aa8f71696520acc603d87439e77cc78160a7"),
            retrieved=LOOKUP_RETRIEVED,
            notes="head_dim derived 6144/48 = 128; gated SiLU MLP, no biases, rope_theta 1e6; params_b nominal 20",
        ),
        _model_row(
            id="ministral-3-3b", aliases="Ministral 3 3B;ministral3_3b_2512;Ministral-3-3B-2512",
            family="ministral-3", arch_type="multimodal", params_b=3.0, num_layers=26, hidden_size=3072,
            num_attention_heads=32, num_kv_heads=8, head_dim=128, intermediate_size=9216, vocab_size=131072,
            max_context=262144, attention_type="GQA",
            source=mlc + " (HF config dict 'ministral3_3b_2512', Mistral3ForConditionalGeneration text_config)",
            retrieved=LOOKUP_RETRIEVED,
            notes="text decoder dims; pixtral vision encoder (24 layers, hidden 1024) not counted in the dims; tied embeddings; "
                  "sliding_window null; YaRN to 262144 from original 16384; params_b nominal 3 from the name; image_tokens "
                  "EMPTY (variable-resolution encoder)",
        ),
    ]

    # ---- extra models (2026-11-30 lookup, issue 3 coverage): Gemma 3, Qwen3 dense, Phi-3 medium/128k, Phi-3.5, R1 ----
    maxtext = ("AI-Hypercomputer/maxtext:MaxText/utils/ckpt_conversion/utils/hf_model_configs.py@"
               "94959d07a381a3b8bc81469c4a4af18d5a90382f")
    mlc2 = "mlc-ai/mlc-llm:python/mlc_llm/model/model_preset.py@01ced331a9e155c5ba4e7625b027a51bee611450"
    gemma3_cfg = ("HF Gemma3Config table for google/gemma-3-4b|12b|27b with vocab_size 262208 and max_position_embeddings "
                  "131072 (find_string hit id 53983210377, repository not exposed); Gemma3TextConfig defaults vocab_size=262_208 "
                  "('with vision tokens'), max_position_embeddings=131_072 in public ports (find_string hits 62559293678, 6753139369)")
    gemma3_note = ("ATTENTION PATTERN: 5 local layers (sliding window {w} tokens) for every global layer "
                   "(sliding_window_pattern 6: layers 6, 12, ... (1-based) are global = {g} global + {l} local layers): "
                   "sliding_window {w} with global_attention_every 6; attention_type {at}. KV cache at n tokens = "
                   "({g}*n + {l}*min(n,{w})) / ({L}*n) of a full-attention model's, e.g. {r:.2f} at n = 32768. ")
    gemma3_vocab = ("vocab_size 262208 = embedding rows of the HF checkpoints (the maxtext copy lists the tokenizer's 262144); "
                    "max_context 131072 = HF max_position_embeddings, the 128K context of the model card (the maxtext copy "
                    "lists 163840 - conflict, the HF value is used). ")

    def _gemma3(mid, aliases, L, h, H, kv, hd, inter, sub):
        g = L // 6
        loc = L - g
        r = (g * 32768 + loc * 1024) / (L * 32768)
        v = dense_decoder_params(h, L, H, kv, hd, inter, 262208, tied=True)
        return _model_row(
            id=mid, aliases=aliases, family="gemma-3", arch_type="multimodal", params_b=round(v, 3),
            num_layers=L, hidden_size=h, num_attention_heads=H, num_kv_heads=kv, head_dim=hd, intermediate_size=inter,
            vocab_size=262208, max_context=131072, attention_type="GQA", image_tokens=256,
            sliding_window=1024, global_attention_every=6,
            source=f"{maxtext} (transformers.Gemma3Config '{sub}': text_config hidden {h}, {L} layers, {H} heads, {kv} KV "
                   f"heads, head_dim {hd}, intermediate {inter}, sliding_window 1024, sliding_window_pattern 6, "
                   f"mm_tokens_per_image 256); {gemma3_cfg}; 5:1 local:global pattern: Gemma 3 technical report "
                   f"(arXiv 2503.19786) as quoted in find_string hit 70964766639; {SRC_GEMMA3_LAYERS}",
            retrieved=LOOKUP_RETRIEVED,
            notes=gemma3_note.format(w=1024, g=g, l=loc, L=L, r=r, at="GQA") + gemma3_vocab
                  + "image_tokens 256 = mm_tokens_per_image (SigLIP 896 px encoder, 27 layers, hidden 1152 - its weights "
                    "are NOT in params_b); tied embeddings; gated GELU MLP (3 matrices, the dims formula applies); "
                    + FORMULA.format(v=v) + " with tied embeddings (text decoder only)",
        )

    gemma1_v = dense_decoder_params(1152, 26, 4, 1, 256, 6912, 262144, tied=True)
    q4_v = dense_decoder_params(2560, 36, 32, 8, 128, 9728, 151936, tied=True)
    qwen3_note = ("tie_word_embeddings {t}; max_position_embeddings 40960 (the cards advertise 32,768 native and 131,072 "
                  "with YaRN); no QKV bias; q/k RMSNorm weights (2 x 128 per layer) add < 0.001B")
    phi3_med_src = ("Phi-3 medium config table in public code, '# https://huggingface.co/microsoft/Phi-3-medium-4k-instruct/"
                    "blob/main/config.json': hidden_size 5120, 40 heads, 10 KV heads, head_dim 128, intermediate 17920, 40 "
                    "decoder layers, vocab 32064, max_model_len 4*1024, sliding_window 2047 (find_string hits 2390356745 and "
                    "409691242, repository not exposed)")
    phi3_card = "YinanWusoymilk/hf-readme:training_and_application/readme_files/microsoft_{f}.md@1ab39f24f8f9548593ac6304367f31ae3ff45178"
    extra += [
        _gemma3("gemma-3-27b", "google/gemma-3-27b-it;google/gemma-3-27b-pt;Gemma-3-27B;Gemma 3 27B",
                62, 5376, 32, 16, 128, 21504, "gemma3_27b_config"),
        _gemma3("gemma-3-12b", "google/gemma-3-12b-it;google/gemma-3-12b-pt;Gemma-3-12B;Gemma 3 12B",
                48, 3840, 16, 8, 256, 15360, "gemma3_12b_config"),
        _gemma3("gemma-3-4b", "google/gemma-3-4b-it;google/gemma-3-4b-pt;Gemma-3-4B;Gemma 3 4B",
                34, 2560, 8, 4, 256, 10240, "gemma3_4b_config"),
        _model_row(
            id="gemma-3-1b", aliases="google/gemma-3-1b-it;google/gemma-3-1b-pt;Gemma-3-1B;Gemma 3 1B",
            family="gemma-3", arch_type="decoder", params_b=round(gemma1_v, 3), num_layers=26, hidden_size=1152,
            num_attention_heads=4, num_kv_heads=1, head_dim=256, intermediate_size=6912, vocab_size=262144,
            max_context=32768, attention_type="MQA", sliding_window=512, global_attention_every=6,
            source=mlc2 + " (HF config dict 'gemma3_1b_it', Gemma3ForCausalLM: hidden 1152, 26 layers, 4 heads, 1 KV head, "
                   "head_dim 256, intermediate 6912, max_position_embeddings 32768, sliding_window 512, "
                   "sliding_window_pattern 6, vocab 262144); sliding_window 512 also in public copies of the gemma-3-1b "
                   f"config.json (find_string hits 56269928830, 57942929516: global layers 5, 11, 17, 23); {SRC_GEMMA3_LAYERS}",
            retrieved=LOOKUP_RETRIEVED,
            notes=gemma3_note.format(w=512, g=4, l=22, L=26, r=(4 * 32768 + 22 * 512) / (26 * 32768), at="MQA")
                  + "text-only (no vision tower); one KV head (MQA); tied embeddings; "
                  + FORMULA.format(v=gemma1_v) + " with tied embeddings",
        ),
        _model_row(
            id="qwen3-32b", aliases="Qwen/Qwen3-32B;Qwen3-32B;Qwen3 32B",
            family="qwen3", arch_type="decoder", params_b=32.762, num_layers=64, hidden_size=5120,
            num_attention_heads=64, num_kv_heads=8, head_dim=128, intermediate_size=25600, vocab_size=151936,
            max_context=40960, attention_type="GQA",
            source=maxtext + " (transformers.Qwen3Config 'qwen3_32b_config'); config.json copy of Qwen3-32B with "
                   "num_hidden_layers reduced 'from 64 to 16' for an experiment, all other fields as published "
                   "(find_string hit id 52352825654); params: daniel-p-green/alain-ai-learning-platform:out/research-qwen-"
                   "qwen3-32b/sources/huggingface/model.json@522537bc54b2efa439c7755a8c5dedd6f8b001da (HF API capture of "
                   "Qwen/Qwen3-32B: safetensors total 32,762,123,264 BF16)",
            retrieved=LOOKUP_RETRIEVED,
            notes="params_b 32.762 STATED (safetensors count); the dims formula gives 32.762107B and adds up exactly with "
                  "the q/k norms (64 x 2 x 128 = 16384); " + qwen3_note.format(t="False"),
        ),
        _model_row(
            id="qwen3-14b", aliases="Qwen/Qwen3-14B;Qwen/Qwen3-14B-Base;Qwen3-14B;Qwen3 14B",
            family="qwen3", arch_type="decoder", num_layers=40, hidden_size=5120, num_attention_heads=40,
            num_kv_heads=8, head_dim=128, intermediate_size=17408, vocab_size=151936, max_context=40960,
            attention_type="GQA",
            source=maxtext + " (transformers.Qwen3Config 'qwen3_14b_config')",
            retrieved=LOOKUP_RETRIEVED,
            notes=qwen3_note.format(t="False"),
        ),
        _model_row(
            id="qwen3-4b", aliases="Qwen/Qwen3-4B;Qwen/Qwen3-4B-Base;Qwen3-4B;Qwen3 4B",
            family="qwen3", arch_type="decoder", params_b=round(q4_v, 3), num_layers=36, hidden_size=2560,
            num_attention_heads=32, num_kv_heads=8, head_dim=128, intermediate_size=9728, vocab_size=151936,
            max_context=40960, attention_type="GQA",
            source=maxtext + " (transformers.Qwen3Config 'qwen3_4b_config'); same dims in " + mlc2
                   + " (commented-out HF config dict 'qwen3_4b')",
            retrieved=LOOKUP_RETRIEVED,
            notes=qwen3_note.format(t="True") + "; " + FORMULA.format(v=q4_v) + " with tied embeddings; the "
                  "Qwen3-4B-Instruct-2507 / Thinking-2507 updates have max_position_embeddings 262144 (not this row)",
        ),
        _model_row(
            id="phi-3-medium-4k", aliases="microsoft/Phi-3-medium-4k-instruct;Phi-3-medium-4k-instruct;Phi-3-medium;Phi-3 Medium",
            family="phi-3", arch_type="decoder", num_layers=40, hidden_size=5120, num_attention_heads=40,
            num_kv_heads=10, head_dim=128, intermediate_size=17920, vocab_size=32064, max_context=4096,
            attention_type="GQA",
            source=phi3_med_src + "; 14B dense decoder, context length 4K tokens, vocabulary 32064: model card copy "
                   + phi3_card.format(f="Phi-3-medium-4k-instruct"),
            retrieved=LOOKUP_RETRIEVED,
            notes="LOW-CONFIDENCE provenance for the dims (config table whose repository the index does not expose; the "
                  "card agrees on 14B / 4K / 32064). The config sets sliding_window 2047 on every layer; left EMPTY as in "
                  "the phi-3-mini-4k row (KV overstated above 2047 tokens if an engine honours the window). Untied "
                  "embeddings, no biases (Phi3ForCausalLM)",
        ),
        _model_row(
            id="phi-3-medium-128k", aliases="microsoft/Phi-3-medium-128k-instruct;Phi-3-medium-128k-instruct",
            family="phi-3", arch_type="decoder", num_layers=40, hidden_size=5120, num_attention_heads=40,
            num_kv_heads=10, head_dim=128, intermediate_size=17920, vocab_size=32064, max_context=131072,
            attention_type="GQA",
            source=phi3_med_src + " (same dims for both Medium variants per the cards); 14B, 128K context: model card "
                   "copy " + phi3_card.format(f="Phi-3-medium-128k-instruct"),
            retrieved=LOOKUP_RETRIEVED,
            notes="dims as phi-3-medium-4k (the card: 'Medium version in two variants 4k and 128K which is the context "
                  "length'); max_context 131072 DERIVED = 128K x 1024 (LongRoPE; the config value itself was not read). "
                  "LOW-CONFIDENCE provenance for the dims",
        ),
        _model_row(
            id="phi-3-mini-128k", aliases="microsoft/Phi-3-mini-128k-instruct;Phi-3-mini-128k-instruct",
            family="phi-3", arch_type="decoder", num_layers=32, hidden_size=3072, num_attention_heads=32,
            num_kv_heads=32, head_dim=96, intermediate_size=8192, vocab_size=32064, max_context=131072,
            attention_type="MHA",
            source="Phi-3 config table in public code, '# https://huggingface.co/microsoft/Phi-3-mini-128k-instruct/blob/main/"
                   "config.json': hidden 3072, 32 heads, intermediate 8192, 32 decoder layers, vocab 32064, "
                   "max_model_len 128*1024, sliding_window 256*1024 (find_string hit id 409691242, repository not exposed); "
                   "dims as the phi-3-mini-4k row (" + mlc + ")",
            retrieved=LOOKUP_RETRIEVED,
            notes="same decoder as phi-3-mini-4k with LongRoPE to 128K; max_context 131072 = 128*1024 as in the table; "
                  "sliding_window 262144 exceeds the context (no effect, left empty); head_dim 96 = 3072/32; "
                  "LOW-CONFIDENCE provenance",
        ),
        _model_row(
            id="phi-3.5-mini", aliases="microsoft/Phi-3.5-mini-instruct;Phi-3.5-mini-instruct;Phi-3.5-mini",
            family="phi-3.5", arch_type="decoder", num_layers=32, hidden_size=3072, num_attention_heads=32,
            num_kv_heads=32, head_dim=96, intermediate_size=8192, vocab_size=32064, max_context=131072,
            attention_type="MHA",
            source=mlc2 + " (HF config dict 'phi-3_5', _name_or_path Phi-3.5-mini-instruct: hidden 3072, 32 layers, 32 heads, "
                   "32 KV heads, intermediate 8192, max_position_embeddings 131072, original 4096 (longrope), "
                   "sliding_window 262144, tie_word_embeddings False, vocab 32064)",
            retrieved=LOOKUP_RETRIEVED,
            notes="head_dim 96 = 3072/32; sliding_window 262144 exceeds the context (no effect, left empty); no biases",
        ),
        _model_row(
            id="deepseek-r1", aliases="deepseek-ai/DeepSeek-R1;DeepSeek-R1;DeepSeek R1;deepseek-reasoner",
            family="deepseek-v3", arch_type="moe", params_b=671.0, active_params_b=37.0, num_layers=61, hidden_size=7168,
            num_attention_heads=128, num_kv_heads=128, head_dim=192, intermediate_size=18432, moe_intermediate_size=2048,
            vocab_size=129280, num_experts=256, experts_per_token=8, num_shared_experts=1, first_dense_layers=3,
            max_context=163840, attention_type="MLA", kv_lora_rank=512, qk_rope_head_dim=64,
            source="copy of deepseek-ai/DeepSeek-R1 config.json (find_string hit id 11140762058, repository not exposed: "
                   "DeepseekV3ForCausalLM, hidden 7168, intermediate 18432, moe_intermediate 2048, 61 layers, "
                   "first_k_dense_replace 3, n_routed_experts 256, n_shared_experts 1, num_experts_per_tok 8, 128 heads, "
                   "kv_lora_rank 512, q_lora_rank 1536, qk_nope_head_dim 128, qk_rope_head_dim 64, v_head_dim 128, "
                   "max_position_embeddings 163840, vocab 129280, fp8 e4m3 block-128 quantization_config); 671B total / "
                   "37B activated / 128K: deepseek-ai/DeepSeek-R1:README.md@5689f0a890129fcc0c9bbe2b46147321be0ea55a "
                   "(model table; 'trained based on DeepSeek-V3-Base')",
            retrieved=LOOKUP_RETRIEVED,
            notes="same architecture as the deepseek-v3 row (R1 is post-trained from DeepSeek-V3-Base); head_dim 192 = qk "
                  "head dim (nope 128 + rope 64), v_head_dim 128; weights are published in FP8 (block-scaled e4m3); the "
                  "multi-token-prediction layer (num_nextn_predict_layers 1) is not counted; R1-0528 is a later checkpoint "
                  "with the same architecture (not aliased here)",
        ),
    ]
    # derive params where no stated/nominal count
    for row in extra:
        if row["params_b"] is None:
            v = dense_decoder_params(row["hidden_size"], row["num_layers"], row["num_attention_heads"],
                                     row["num_kv_heads"], row["head_dim"], row["intermediate_size"],
                                     row["vocab_size"], tied=False)
            row["params_b"] = round(v, 3)
            row["notes"] = (row["notes"] + "; " if row["notes"] else "") + FORMULA.format(v=v)
    rows += extra
    df = pd.DataFrame(rows, columns=MODELS.names)
    return _apply_family_facts(df)


# ---- model-family facts (issue 6, 2026-11-30; docs/research/families.csv): multi-token-prediction
# modules, the Flan-T5 vocabulary and sizes (a new XXL row), the LLaVA vision tower. Cells as written
# to models.csv, each with its source in the row's source/notes.
FAMILY_FACTS = {'deepseek-r1': {'mtp_layers': '1'},
 'deepseek-v3': {'mtp_layers': '1'},
 'flan-t5-xl': {'params_b': '2.849757184',
                'vocab_size': '32128',
                'source': 'google-research/t5x:t5x/examples/t5/t5_1_1/xl.gin@2c294339c42788daf66857f61545c9f101c0e8cf '
                          '(T5.1.1 XL: emb 2048, 32 heads, 24 enc + 24 dec layers, head_dim 64, mlp 5120) (via '
                          '../shared/reference/models.csv); vocab_size 32128: '
                          'https://huggingface.co/google/flan-t5-xxl/blob/refs%2Fpr%2F69/config.json (T5 v1.1 / '
                          "Flan-T5 vocabulary, every size); params_b: KerasHub t5_presets.py 't5_1.1_xl' params "
                          '2849757184 (search-index id 610160901) (via docs/research/families.csv)',
                'notes': 'num_layers = 24 encoder + 24 decoder; gated-GELU FFN; Flan-T5-XL reuses the T5 v1.1 XL '
                         'architecture (a flan-t5-xl config copy seen in the index shows d_model 2048, d_ff 5120, '
                         'd_kv 64); relative position bias (no fixed max_context); num_layers = 24 decoder '
                         'layers, encoder_layers = 24 (t5x xl.gin); vocab_size 32128 (the XL total is reproduced '
                         'only with it; lm_head untied, tie_word_embeddings false); params_b = the published '
                         'total 2,849,757,184, which the perf model reproduces exactly from the dims (encoder + '
                         'embedding 1,223,527,424 / decoder + lm_head 1,626,229,760; decoder layers carry '
                         'cross-attention)'},
 'flan-t5-xxl': {'aliases': 'google/flan-t5-xxl;Flan-T5-XXL',
                 'family': 'flan-t5',
                 'arch_type': 'encoder-decoder',
                 'params_b': '11.135332352',
                 'num_layers': '24',
                 'encoder_layers': '24',
                 'hidden_size': '4096',
                 'num_attention_heads': '64',
                 'head_dim': '64',
                 'intermediate_size': '10240',
                 'vocab_size': '32128',
                 'attention_type': 'MHA',
                 'source': 'https://huggingface.co/google/flan-t5-xxl/blob/refs%2Fpr%2F69/config.json (d_model '
                           '4096, d_ff 10240, num_heads 64, d_kv 64, num_layers 24, num_decoder_layers 24, '
                           'vocab_size 32128, tie_word_embeddings false, feed_forward_proj gated-gelu); params_b: '
                           "KerasHub t5_presets.py 't5_1.1_xxl' params 11135332352 (search-index id 610160901) "
                           '(via docs/research/families.csv)',
                 'retrieved': '2026-11-30',
                 'notes': 'num_layers = 24 decoder layers, encoder_layers = 24; gated-GELU FFN (wi_0, wi_1, wo), '
                          'no biases; decoder layers carry cross-attention with their own q, k, v, o; lm_head '
                          'untied; relative position bias (32 buckets, no fixed max_context); params_b = the '
                          'published total 11,135,332,352, which the perf model reproduces exactly from the dims '
                          '(encoder + embedding 4,762,310,656 / decoder + lm_head 6,373,021,696); Flan-T5-XXL '
                          'fine-tunes the T5 v1.1 XXL shape; HF transformers keeps the FFN wo in fp32 (+~4 GB, '
                          'not modelled)'},
 'llava-1.5-7b': {'vision_params_b': '0.311888896',
                  'source': 'mlc-ai/mlc-llm:python/mlc_llm/model/model_preset.py@f2b1ffe068a84d4703fb695ac9a3615c88713a1a '
                            '(HF config dicts) (llava preset: text_config from meta-llama/Llama-2-7b-hf, '
                            'vision_config CLIP ViT-L/14 336px) (via ../shared/reference/models.csv); '
                            'vision_params_b: '
                            'vllm-project/vllm:vllm/model_executor/models/llava.py@0004c540861d3e59a7c1b3860f594aa8b24293db '
                            '(tower built up to layer 23 for vision_feature_layer -2, no post-LN) and the CLIP '
                            'ViT-L/14-336 count 303,507,456 and projector count 20,979,712 in search-index id '
                            '21479741541 (via docs/research/families.csv)',
                  'notes': 'LM dims are the LlamaConfig defaults implied by the llava text_config (only '
                           'vocab/context overridden); vision tower: hidden 1024, 24 layers, 16 heads, patch 14, '
                           'image 336; head_dim derived as hidden_size/num_attention_heads (HF default); '
                           'image_tokens 576 DERIVED: (336/14)^2 = 24*24 patches of CLIP ViT-L/14 at 336 px '
                           '(reference notes); vision_params_b 0.311888896 DERIVED = 290,909,184 (CLIP '
                           'ViT-L/14-336 as vLLM builds it: 303,507,456 - one 12,596,224-param layer - post-LN '
                           '2,048) + 20,979,712 (projector Linear(1024->4096)+GELU+Linear(4096->4096), with '
                           'biases); HF transformers holds all 24 layers'}}


def _apply_family_facts(df: pd.DataFrame) -> pd.DataFrame:
    """``FAMILY_FACTS`` over the built rows: cells replaced, rows not built yet appended."""
    df = df.astype(object)
    for mid, cells in FAMILY_FACTS.items():
        hit = df.index[df["id"] == mid]
        if len(hit):
            for c, v in cells.items():
                df.loc[hit[0], c] = v
        else:
            df = pd.concat([df, pd.DataFrame([{"id": mid, **cells}], columns=df.columns)], ignore_index=True)
    return df


# ---------------------------------------------------------------------------------------------
# Offers (mechanical, from gpu_instances.csv)
# ---------------------------------------------------------------------------------------------
def offer_gpu(cloud: str, itype: str, acc: str) -> tuple[str | None, str]:
    """(accelerator id, why) for one reference row; id None = row left out (why says why)."""
    if cloud == "aws":
        m = {"T4": "T4-16GB", "A10G": "A10G-24GB", "L4": "L4-24GB", "L40S": "L40S-48GB", "H200": "H200-SXM-141GB",
             "B200": "B200-SXM-192GB", "Inferentia2": "Inferentia2-32GB", "H100": "H100-SXM-80GB"}
        if acc in m:
            return m[acc], ""
        if acc == "A100":
            return "A100-SXM-40GB", f"p4d = 8x A100 SXM 40GB ({SRC_HYPERSCALERS})"
        if acc == "A100-80GB":
            return "A100-SXM-80GB", f"p4de = 8x A100 SXM 80GB ({SRC_HYPERSCALERS}; reference README)"
        if acc == "V100-32GB":
            return "V100-SXM2-32GB", "p3dn uses V100 SXM2 32GB (reference accelerators.csv V100 SXM2 notes)"
        if acc == "V100":
            return None, "p3 V100 form factor/memory variant not stated in the sources read"
        if acc == "T4g":
            return None, "T4g (Graviton g5g) has no spec row in the sources read"
    if cloud == "gcp":
        if itype.startswith("(") :
            return None, "GPU-component-only row: the host VM price is not in the reference"
        if itype.startswith("a2-highgpu") or itype.startswith("a2-megagpu"):
            return "A100-SXM-40GB", "a2-highgpu/megagpu = A100 40GB (SXM4, NVLink)"
        if itype.startswith("a2-ultragpu"):
            return "A100-SXM-80GB", "a2-ultragpu = A100 SXM 80GB (reference README)"
        if itype.startswith("a3-ultragpu"):
            return "H200-SXM-141GB", ""
        if itype.startswith("a3-"):
            return "H100-SXM-80GB", ""
        if itype.startswith("a4-"):
            return "B200-SXM-192GB", ""
        if acc == "TPU-v5e":
            return "TPU-v5e-16GB", ""
        if acc == "TPU-v5p":
            return "TPU-v5p-95GB", ""
        if acc == "TPU-v6e":
            return "TPU-v6e-32GB", ""
    if cloud == "azure":
        if "A100_v4" in itype and itype.startswith("Standard_NC"):
            return "A100-PCIe-80GB", f"NC A100 v4 = A100 PCIe 80GB ({SRC_AZ_NCA100})"
        if itype == "Standard_ND96amsr_A100_v4":
            return "A100-SXM-80GB", f"NDm A100 v4 = 8x A100 80GB with NVLink 3.0 ({SRC_AZ_NDMA100})"
        if itype == "Standard_ND96asr_v4":
            return "A100-SXM-40GB", f"ND A100 v4 = 8x A100 40GB with NVLink 3.0 ({SRC_AZ_NDA100})"
        if "H100_v5" in itype and itype.startswith("Standard_NC"):
            return "H100-NVL-94GB", f"NCads H100 v5 = H100 NVL 94GB ({SRC_AZ_NCH100})"
        if itype == "Standard_ND96isr_H100_v5":
            return "H100-SXM-80GB", f"ND H100 v5 = 8x H100 with NVLink 4.0 ({SRC_AZ_NDH100})"
        if itype == "Standard_ND40rs_v2":
            return "V100-SXM2-32GB", f"NDv2 = 8x V100 32GB NVLink-connected ({SRC_AZ_NDV2})"
        if acc == "T4":
            return "T4-16GB", ""
        if acc == "A10":
            return "A10-24GB", f"NVads A10 v5 full-GPU sizes ({SRC_AZ_NVA10})"
        if acc == "V100":
            return None, "NCv3 V100 form factor not stated in the Azure doc read"
    if cloud == "lambda":
        m = {
            "gpu_8x_a100_80gb_sxm4": ("A100-SXM-80GB", "8x A100 (80 GB SXM4)"),
            "gpu_1x_a100_sxm4": ("A100-SXM-40GB", "1x A100 (40 GB SXM4)"),
            "gpu_8x_a100": ("A100-SXM-40GB", "8x A100 (40 GB SXM4)"),
            "gpu_1x_a10": ("A10-24GB", "1x A10 (24 GB PCIe)"),
        }
        if itype in m:
            return m[itype][0], f"Lambda describes it as '{m[itype][1]}' ({SRC_LAMBDA_TYPES})"
        if "h100_pcie" in itype:
            return "H100-PCIe-80GB", "instance name says PCIe"
        if "h100_sxm5" in itype:
            return "H100-SXM-80GB", "instance name says SXM5"
        if "gh200" in itype:
            return "GH200-96GB", "Lambda gpu_1x_gh200 lists 96 GB (reference accelerators.csv notes)"
        if "b200" in itype:
            return "B200-SXM-192GB", "instance name says SXM6 (B200)"
        if "a6000" in itype:
            return "RTX-A6000-48GB", "SkyPilot accelerator A6000 = RTX A6000 48GB"
        return None, "GPU variant not stated in the sources read (1x/2x/4x A100 form factor, V100 form factor, Quadro RTX 6000 specs)"
    if cloud == "nebius":
        m = {"H100": "H100-SXM-80GB", "H200": "H200-SXM-141GB", "B200": "B200-SXM-192GB", "L40S": "L40S-48GB"}
        return m.get(acc), "" if acc in m else "unmapped"
    if cloud == "runpod":
        if acc == "A100-80GB":
            return "A100-PCIe-80GB", "RunPod A100-80GB here is A100 PCIe 80GB (reference notes/README)"
    return None, f"unmapped accelerator {acc!r}"


LOCAL_ZONE_RE = re.compile(r"min spot is from local zone (\S+?)(?: \(regional AZ min ([0-9.]+)\))?(?:;|$)")
RUNPOD_DROP_REGIONS = {"US": "RunPod region 'US' is country-level; its planner geography (us-east/us-west/us-central) cannot be determined"}


def build_offers(ref: Path) -> tuple[pd.DataFrame, list[str]]:
    src = pd.read_csv(ref / "gpu_instances.csv")
    out, dropped = [], {}
    for _, r in src.iterrows():
        cloud, region, itype, acc = r["cloud"], r["region"], r["instance_type"], r["accelerator"]
        gpu, why = offer_gpu(cloud, itype, acc)
        if gpu is None:
            dropped.setdefault(f"{cloud}: {itype} ({acc}) - {why}", 0)
            dropped[f"{cloud}: {itype} ({acc}) - {why}"] += 1
            continue
        if cloud == "runpod" and region in RUNPOD_DROP_REGIONS:
            key = f"{cloud}: {itype} in {region} - {RUNPOD_DROP_REGIONS[region]}"
            dropped[key] = dropped.get(key, 0) + 1
            continue
        notes = [] if pd.isna(r["notes"]) else [str(r["notes"])]
        if why:
            notes.append(f"gpu: {why}")
        count = int(r["accelerator_count"])
        od = None if pd.isna(r["price_on_demand_hr"]) else float(r["price_on_demand_hr"])
        spot = None if pd.isna(r["price_spot_hr"]) else float(r["price_spot_hr"])
        if itype == "Standard_ND96isr_H100_v5":
            count = 8
            notes.append(f"gpus_per_instance set to 8 (catalog listed 12; Azure documents 8 GPUs: {SRC_AZ_NDH100})")
        if acc == "TPU-v5p":
            chips = count // 2
            notes.append(f"gpus_per_instance = {chips} chips DERIVED as slice suffix {count} / 2 TensorCores per chip "
                         "(reference: v5p-8 = 4 chips; verify)")
            count = chips
        if spot is not None and od is not None and math.isclose(spot, od, rel_tol=1e-9):
            notes.append(f"spot left empty: catalog spot == on-demand ({spot}) is a placeholder")
            spot = None
        m = LOCAL_ZONE_RE.search(str(r["notes"])) if not pd.isna(r["notes"]) else None
        if m and spot is not None:
            if m.group(2):
                notes.append(f"spot = regional-AZ minimum {m.group(2)} (catalog min {spot} came from Local Zone {m.group(1)})")
                spot = float(m.group(2))
            else:
                notes.append(f"spot left empty: the only minimum given ({spot}) came from Local Zone {m.group(1)}; "
                             "no regional-AZ minimum in the source")
                spot = None
        if cloud == "lambda":
            spot = None
        out.append({
            "cloud": cloud, "region": region, "instance_type": itype, "gpu": gpu, "gpus_per_instance": count,
            "vcpus": r["vcpus"], "memory_gib": r["memory_gib"], "on_demand_usd_per_hour": od,
            "spot_usd_per_hour": spot, "reserved_1y_usd_per_hour": None, "reserved_3y_usd_per_hour": None,
            "source": f"{r['source']} ({VIA_REF.format(f='gpu_instances.csv')}; snapshot {r['snapshot_date']})",
            "retrieved": REF_RETRIEVED, "notes": "; ".join(notes) or None,
        })
    df = pd.DataFrame(out, columns=OFFERS.names)
    gaps = [f"{k} [{v} rows]" for k, v in sorted(dropped.items())]
    return df, gaps


# ---------------------------------------------------------------------------------------------
# Regions (curated; one source per cloud)
# ---------------------------------------------------------------------------------------------
SRC_AWS_REG = "https://docs.aws.amazon.com/zh_tw/solutions/latest/automated-security-response-on-aws/supported-aws-regions.html (AWS region names and codes)"
SRC_GCP_REG = "https://cloud.google.com/anthos/clusters/docs/bare-metal/1.16/reference/supported-regions-on-prem-api (Google Cloud region locations)"
SRC_AZ_REG = ("https://learn.microsoft.com/nb-no/azure/reliability/regions-list (Azure regions list, physical location); "
              "physicalLocation metadata as copied in https://gist.github.com/lpellegr/8ed204b10c2589a1fb925a160191b974")
SRC_LAMBDA_REG = "skypilot-org/skypilot-catalog:catalogs/v8/lambda/vms.csv@0f4070387edc953d7004cff197940e1918a1d6aa (region names; via ../shared/reference/gpu_instances.csv)"
SRC_NEBIUS_REG = "skypilot-org/skypilot-catalog:catalogs/v8/nebius/vms.csv@0082b0435f3912ae4c566856b272455cc78f4f61 (region names; via ../shared/reference/gpu_instances.csv)"
SRC_RUNPOD_REG = "skypilot-org/skypilot-catalog:catalogs/v8/runpod/vms.csv@01acdfd419ce5afae1289ff14825b893ced0c196 (region = ISO country code; via ../shared/reference/gpu_instances.csv)"

NA, SA, EU, AS, OC, ME = "north-america", "south-america", "europe", "asia", "oceania", "middle-east"
REGION_TABLE: dict[str, dict[str, tuple[str, str, str | None]]] = {
    "aws": {
        "ap-east-1": ("ap-northeast", AS, "Asia Pacific (Hong Kong)"),
        "ap-northeast-1": ("ap-northeast", AS, "Asia Pacific (Tokyo)"),
        "ap-northeast-2": ("ap-northeast", AS, "Asia Pacific (Seoul)"),
        "ap-northeast-3": ("ap-northeast", AS, "Asia Pacific (Osaka)"),
        "ap-south-1": ("ap-south", AS, "Asia Pacific (Mumbai)"),
        "ap-southeast-1": ("ap-southeast", AS, "Asia Pacific (Singapore)"),
        "ap-southeast-2": ("oceania", OC, "Asia Pacific (Sydney)"),
        "ap-southeast-3": ("ap-southeast", AS, "Asia Pacific (Jakarta)"),
        "ca-central-1": ("ca", NA, "Canada (Central)"),
        "eu-central-1": ("eu-central", EU, "Europe (Frankfurt)"),
        "eu-north-1": ("eu-north", EU, "Europe (Stockholm)"),
        "eu-south-1": ("eu-central", EU, "Europe (Milan)"),
        "eu-south-2": ("eu-west", EU, "Europe (Spain)"),
        "eu-west-1": ("eu-west", EU, "Europe (Ireland)"),
        "eu-west-2": ("eu-west", EU, "Europe (London)"),
        "eu-west-3": ("eu-west", EU, "Europe (Paris)"),
        "me-central-1": ("me", ME, "Middle East (UAE)"),
        "me-south-1": ("me", ME, "Middle East (Bahrain)"),
        "us-east-1": ("us-east", NA, "US East (N. Virginia)"),
        "us-east-2": ("us-east", NA, "US East (Ohio)"),
        "us-west-1": ("us-west", NA, "US West (Northern California)"),
        "us-west-2": ("us-west", NA, "US West (Oregon)"),
    },
    "gcp": {
        "asia-east1": ("ap-northeast", AS, "Changhua County, Taiwan"),
        "asia-east2": ("ap-northeast", AS, "Hong Kong"),
        "asia-northeast1": ("ap-northeast", AS, "Tokyo, Japan"),
        "asia-northeast3": ("ap-northeast", AS, "Seoul, South Korea"),
        "asia-south1": ("ap-south", AS, "Mumbai, India"),
        "asia-south2": ("ap-south", AS, "Delhi, India"),
        "asia-southeast1": ("ap-southeast", AS, "Jurong West, Singapore"),
        "asia-southeast2": ("ap-southeast", AS, "Jakarta, Indonesia"),
        "australia-southeast1": ("oceania", OC, "Sydney, Australia"),
        "europe-central2": ("eu-central", EU, "Warsaw, Poland"),
        "europe-north1": ("eu-north", EU, "Hamina, Finland"),
        "europe-west1": ("eu-west", EU, "St. Ghislain, Belgium"),
        "europe-west2": ("eu-west", EU, "London, England"),
        "europe-west3": ("eu-central", EU, "Frankfurt, Germany"),
        "europe-west4": ("eu-west", EU, "Eemshaven, Netherlands"),
        "europe-west6": ("eu-central", EU, "Zurich, Switzerland"),
        "europe-west9": ("eu-west", EU, "Paris, France"),
        "me-central2": ("me", ME, "Dammam, Saudi Arabia"),
        "me-west1": ("me", ME, "Tel Aviv, Israel"),
        "northamerica-northeast1": ("ca", NA, "Montréal, Québec"),
        "northamerica-northeast2": ("ca", NA, "Toronto, Ontario"),
        "southamerica-east1": ("sa", SA, "Osasco, São Paulo, Brazil"),
        "southamerica-west1": ("sa", SA, "Santiago, Chile"),
        "us-central1": ("us-central", NA, "Council Bluffs, Iowa"),
        "us-east1": ("us-east", NA, "Moncks Corner, South Carolina"),
        "us-east4": ("us-east", NA, "Ashburn, Virginia"),
        "us-east5": ("us-east", NA, "Columbus, Ohio"),
        "us-south1": ("us-central", NA, "Dallas, Texas"),
        "us-west1": ("us-west", NA, "The Dalles, Oregon"),
        "us-west2": ("us-west", NA, "Los Angeles, California"),
        "us-west3": ("us-west", NA, "Salt Lake City"),
        "us-west4": ("us-west", NA, "Las Vegas, Nevada"),
    },
    "azure": {
        "centralus": ("us-central", NA, "Iowa"),
        "eastus": ("us-east", NA, "Virginia"),
        "eastus2": ("us-east", NA, "Virginia"),
        "northcentralus": ("us-central", NA, "Illinois"),
        "southcentralus": ("us-central", NA, "Texas"),
        "westus": ("us-west", NA, "California"),
        "westus2": ("us-west", NA, "Washington"),
        "westus3": ("us-west", NA, "Phoenix"),
    },
    "lambda": {
        "asia-northeast-1": ("ap-northeast", AS, None), "asia-northeast-2": ("ap-northeast", AS, None),
        "asia-south-1": ("ap-south", AS, None), "australia-east-1": ("oceania", OC, None),
        "europe-central-1": ("eu-central", EU, None), "europe-south-1": ("eu-central", EU, None),
        "me-west-1": ("me", ME, None),
        "us-east-1": ("us-east", NA, None), "us-east-2": ("us-east", NA, None), "us-east-3": ("us-east", NA, None),
        "us-midwest-1": ("us-central", NA, None),
        "us-south-1": ("us-central", NA, None), "us-south-2": ("us-central", NA, None), "us-south-3": ("us-central", NA, None),
        "us-west-1": ("us-west", NA, None), "us-west-2": ("us-west", NA, None), "us-west-3": ("us-west", NA, None),
    },
    "nebius": {
        "eu-north1": ("eu-north", EU, None), "eu-west1": ("eu-west", EU, None), "us-central1": ("us-central", NA, None),
    },
    "runpod": {
        "AU": ("oceania", OC, "Australia"), "CA": ("ca", NA, "Canada"), "CZ": ("eu-central", EU, "Czechia"),
        "DK": ("eu-north", EU, "Denmark"), "FR": ("eu-west", EU, "France"), "IN": ("ap-south", AS, "India"),
        "IS": ("eu-north", EU, "Iceland"), "JP": ("ap-northeast", AS, "Japan"), "NL": ("eu-west", EU, "Netherlands"),
        "NO": ("eu-north", EU, "Norway"), "RO": ("eu-central", EU, "Romania"), "SE": ("eu-north", EU, "Sweden"),
        "SG": ("ap-southeast", AS, "Singapore"),
    },
}
REGION_SOURCES = {"aws": SRC_AWS_REG, "gcp": SRC_GCP_REG, "azure": SRC_AZ_REG, "lambda": SRC_LAMBDA_REG,
                  "nebius": SRC_NEBIUS_REG, "runpod": SRC_RUNPOD_REG}
GEO_RULE = "geo is the planner's grouping of the published location (see catalogs/README.md, 'Geography rule')"


def build_regions(offers: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (cloud, region) in sorted(set(zip(offers.cloud, offers.region))):
        geo, cont, loc = REGION_TABLE[cloud][region]
        notes = [GEO_RULE]
        src = REGION_SOURCES[cloud]
        if cloud == "gcp" and region == "us-west3":
            src = "https://cloud.google.com/workload-manager/docs/evaluate/locations (us-west3 = Salt Lake City)"
            notes.append("the GKE on-prem API region page lists us-west3 as 'Los Angeles, California' (an error there)")
        if cloud in ("lambda", "nebius"):
            notes.append("location not published in the sources read: left empty; geo DERIVED from the region name")
        if cloud == "runpod":
            notes.append("location = the country of the ISO code used as region name")
        rows.append({"cloud": cloud, "region": region, "geo": geo, "continent": cont, "location": loc,
                     "source": src, "retrieved": LOOKUP_RETRIEVED, "notes": "; ".join(notes)})
    return pd.DataFrame(rows, columns=REGIONS.names)


# ---------------------------------------------------------------------------------------------
# Discounts (curated: only figures with a source). AWS / Azure: "up to" maxima (no GPU-family rate found);
# GCP: per-family rates computed from a public copy of the Cloud Billing Catalog (see SRC_GCP_CUD).
# ---------------------------------------------------------------------------------------------
SRC_GCP_CUD = (
    "Cyclenerd/google-cloud-pricing-cost-calculator:pricing.yml@0166a59ebba7c36f2cc8c931d9f258dcebc44776 "
    "(generated 2025-03-06 from the Google Cloud Billing Catalog API; compute.instance.<type>.cost.<region>: "
    "hour, month = hour*730, month_1y / month_3y = resource-based CUD price per month)"
)
# (machine type, us-central1 month on-demand, month_1y, month_3y) as printed in SRC_GCP_CUD
GCP_CUD_FAMILIES = {
    "a3-highgpu-8g (8x H100 80GB)": (64597.69992888, 44810.08066464, 28370.99821392),
    "a2-highgpu-1g (1x A100 40GB)": (2681.57105, 1689.3711392, 938.56707798),
    "g2-standard-12 (1x L4)": (730.30388951, 460.09144542, 328.63672535),
}
GCP_CUD_REPRESENTATIVE = "a3-highgpu-8g (8x H100 80GB)"


def _gcp_cud_pct(family: str, term: int) -> float:
    od, y1, y3 = GCP_CUD_FAMILIES[family]
    return round(100.0 * (1.0 - (y1 if term == 1 else y3) / od), 2)


def build_discounts(ref: Path) -> pd.DataFrame:
    pd_src = pd.read_csv(ref / "pricing_discounts.csv")
    s = {(r.cloud, r.instance_family): r for r in pd_src.itertuples()}
    aws = s[("aws", "EC2 Instance Savings Plan (one family in one region e.g. p5 in us-east-1)")]
    gcp = s[("gcp", "resource-based CUD: most machine types and GPUs")]
    az = s[("azure", "Reserved VM Instances (all series incl. NC/ND/NV GPU VMs)")]
    via = VIA_REF.format(f="pricing_discounts.csv")

    def gcp_row(term: int) -> dict:
        rep = GCP_CUD_REPRESENTATIVE
        od, y1, y3 = GCP_CUD_FAMILIES[rep]
        committed = y1 if term == 1 else y3
        a2_note = ("The A2 3-year rate (65 %) exceeds the older doc text 'up to 57 %'; the billing catalog is taken "
                   "as the authority. ") if term == 3 else ""
        others = "; ".join(
            f"{fam}: {_gcp_cud_pct(fam, term)} % (month {v[0]} -> {v[1] if term == 1 else v[2]})"
            for fam, v in GCP_CUD_FAMILIES.items() if fam != rep)
        return {
            "cloud": "gcp", "tier": f"reserved-{term}y", "discount_pct": _gcp_cud_pct(rep, term),
            "applies_to": "resource-based committed use discount (CUD), accelerator-optimized A3 (H100); "
                          "representative GPU-family rate",
            "source": SRC_GCP_CUD, "retrieved": LOOKUP_RETRIEVED,
            "notes": (f"TYPICAL PER-FAMILY RATE (not an 'up to' maximum), {term}-year resource-based CUD, no upfront "
                      f"(billed monthly). DERIVED: 1 - month_{term}y / month for {rep} in us-central1 = "
                      f"1 - {committed} / {od} (on-demand {od / 730:.4f} USD/h -> committed "
                      f"{committed / 730:.4f} USD/h). The same ratio holds for a3-highgpu-1g and other regions "
                      f"checked (europe-west4, us-east4). Other GPU families, same source and region: {others}. "
                      f"A2 ultragpu (A100 80GB) has no CUD price in the source. "
                      f"{a2_note}"
                      f"Chosen as the representative because H100 is the "
                      f"main LLM-serving GPU of the catalog and its rate is the lowest 1-year and near-lowest 3-year GPU rate "
                      f"found (G2 3-year is 1.1 points lower), so it does not overstate savings for A2. Google's 'up to' figure "
                      f"for {'3' if term == 3 else '1 or 3'}-year CUDs: {float(gcp.discount_pct):.0f} % "
                      f"({gcp.source}). Source snapshot 2025-03-06; CUD prices move with list prices"),
        }

    rows = [
        {"cloud": "aws", "tier": "reserved-3y", "discount_pct": float(aws.discount_pct),
         "applies_to": "EC2 Instance Savings Plans / Reserved Instances, any family incl. GPU (p4d/p5/g5/g6...)",
         "source": f"{aws.source} ({via})", "retrieved": REF_RETRIEVED,
         "notes": "'UP TO' MAXIMUM (3-year, all-upfront best case; not GPU-specific; realized GPU discounts are usually lower). "
                  "No GPU-family Savings Plan / RI rate (p4d/p5/g5/g6) and no 1-year figure with a source was found: "
                  "no reserved-1y row for aws"},
        gcp_row(1),
        gcp_row(3),
        {"cloud": "azure", "tier": "reserved-3y", "discount_pct": float(az.discount_pct),
         "applies_to": "Reserved VM Instances, all series incl. NC/ND/NV GPU VMs",
         "source": f"{az.source} ({via})", "retrieved": REF_RETRIEVED,
         "notes": "'UP TO' MAXIMUM vs pay-as-you-go (3-year best case); GPU SKU (NC/ND) reservation prices not found "
                  "with a source; no 1-year figure with a source: no reserved-1y row for azure"},
    ]
    return pd.DataFrame(rows, columns=DISCOUNTS.names)


# ---------------------------------------------------------------------------------------------
# API prices (mechanical)
# ---------------------------------------------------------------------------------------------
API_MODEL_MAP = {
    ("Groq", "llama-3.1-8b-instant"): "llama-3.1-8b",
    ("Groq", "llama-3.3-70b-versatile"): "llama-3.3-70b",
    ("Groq", "mixtral-8x7b-32768"): "mixtral-8x7b",
    ("Groq", "gemma2-9b-it"): "gemma-2-9b",
    ("Together AI", "meta-llama/Llama-3.3-70B-Instruct-Turbo"): "llama-3.3-70b",
    ("Together AI", "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"): "llama-3.1-8b",
    ("Together AI", "meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo"): "llama-3.1-70b",
    ("Together AI", "meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo"): "llama-3.1-405b",
    ("Together AI", "Qwen/Qwen2.5-72B-Instruct-Turbo"): "qwen2.5-72b",
    ("Together AI", "Qwen/Qwen2.5-7B-Instruct-Turbo"): "qwen2.5-7b",
    ("Together AI", "deepseek-ai/DeepSeek-V3"): "deepseek-v3",
    ("Together AI", "mistralai/Mixtral-8x7B-Instruct-v0.1"): "mixtral-8x7b",
    ("Together AI", "google/gemma-2-27b-it"): "gemma-2-27b",
    ("Fireworks AI", "accounts/fireworks/models/llama-v3p3-70b-instruct"): "llama-3.3-70b",
    ("Fireworks AI", "accounts/fireworks/models/llama-v3p2-3b-instruct"): "llama-3.2-3b",
    ("Fireworks AI", "accounts/fireworks/models/llama-v3p1-8b-instruct"): "llama-3.1-8b",
    ("Fireworks AI", "accounts/fireworks/models/llama-v3p1-70b-instruct"): "llama-3.1-70b",
    ("Fireworks AI", "accounts/fireworks/models/llama-v3p1-405b-instruct"): "llama-3.1-405b",
    ("Fireworks AI", "accounts/fireworks/models/mixtral-8x7b-instruct"): "mixtral-8x7b",
    ("Fireworks AI", "accounts/fireworks/models/mixtral-8x22b-instruct"): "mixtral-8x22b",
    ("Fireworks AI", "accounts/fireworks/models/deepseek-v3"): "deepseek-v3",
    ("Fireworks AI", "accounts/fireworks/models/qwen2p5-72b-instruct"): "qwen2.5-72b",
    ("Fireworks AI", "accounts/fireworks/models/qwen3-235b-a22b"): "qwen3-235b-a22b",
    ("DeepInfra", "meta-llama/Llama-3.3-70B-Instruct"): "llama-3.3-70b",
    ("DeepInfra", "meta-llama/Llama-3.3-70B-Instruct-Turbo"): "llama-3.3-70b",
    ("DeepInfra", "deepseek-ai/DeepSeek-V3"): "deepseek-v3",
    ("DeepInfra", "Qwen/Qwen2.5-72B-Instruct"): "qwen2.5-72b",
    ("DeepInfra", "meta-llama/Meta-Llama-3.1-405B-Instruct"): "llama-3.1-405b",
    ("AWS Bedrock", "meta.llama3-1-405b-instruct-v1:0"): "llama-3.1-405b",
    ("AWS Bedrock", "meta.llama3-1-70b-instruct-v1:0"): "llama-3.1-70b",
    ("AWS Bedrock", "meta.llama3-1-8b-instruct-v1:0"): "llama-3.1-8b",
    ("AWS Bedrock", "mistral.mixtral-8x7b-instruct-v0:1"): "mixtral-8x7b",
    ("AWS Bedrock", "mistral.mistral-large-2407-v1:0"): "mistral-large-123b",
    ("Mistral AI", "open-mixtral-8x22b"): "mixtral-8x22b",
    ("Mistral AI", "open-mistral-7b"): "mistral-7b",
    ("Mistral AI", "open-mixtral-8x7b"): "mixtral-8x7b",
    ("Groq", "qwen/qwen3-32b"): "qwen3-32b",
    ("Together AI", "deepseek-ai/DeepSeek-R1"): "deepseek-r1",
    ("DeepInfra", "deepseek-ai/DeepSeek-R1"): "deepseek-r1",
    ("Fireworks AI", "accounts/fireworks/models/deepseek-r1"): "deepseek-r1",
}


def build_api_prices(ref: Path, model_ids: set[str]) -> pd.DataFrame:
    src = pd.read_csv(ref / "api_prices.csv")
    rows = []
    for _, r in src.iterrows():
        mid = API_MODEL_MAP.get((r["provider"], r["model"]))
        if mid is not None and mid not in model_ids:
            raise SystemExit(f"api model maps to unknown model id {mid}")
        notes = [] if pd.isna(r["notes"]) else [str(r["notes"])]
        if mid and "Turbo" in r["model"]:
            notes.append("model: the provider serves a 'Turbo' (quantized/optimized) deployment of this open model")
        if r["provider"] == "DeepSeek":
            notes.append("USD cells empty: the source gives CNY only")
        rows.append({
            "provider": r["provider"], "api_model": r["model"], "model": mid,
            "input_usd_per_mtok": r["input_per_mtok_usd"], "output_usd_per_mtok": r["output_per_mtok_usd"],
            "cached_input_usd_per_mtok": r["cached_input_per_mtok_usd"],
            "price_as_of": None if pd.isna(r["price_as_of"]) else r["price_as_of"],
            "source": f"{r['source']} ({VIA_REF.format(f='api_prices.csv')})", "retrieved": REF_RETRIEVED,
            "notes": "; ".join(notes) or None,
        })
    return pd.DataFrame(rows, columns=API_PRICES.names)


# ---------------------------------------------------------------------------------------------
# Egress (mechanical, with the merges needed for a unique (cloud, transfer_type, tier_start) key)
# ---------------------------------------------------------------------------------------------
def build_egress(ref: Path) -> pd.DataFrame:
    src = pd.read_csv(ref / "egress.csv")
    via = VIA_REF.format(f="egress.csv")
    rows = []

    def add(r, transfer_type, notes_extra=None, **over):
        notes = [] if pd.isna(r["notes"]) else [str(r["notes"])]
        if not pd.isna(r["date"]):
            notes.append(f"source date: {r['date']}")
        if notes_extra:
            notes.append(notes_extra)
        row = {
            "cloud": r["cloud"], "transfer_type": transfer_type,
            "tier_start_tb_per_month": None if pd.isna(r["tier_start_tb_per_month"]) else r["tier_start_tb_per_month"],
            "tier_end_tb_per_month": None if pd.isna(r["tier_end_tb_per_month"]) else r["tier_end_tb_per_month"],
            "usd_per_gb": r["usd_per_gb_max"], "usd_per_gb_min": r["usd_per_gb_min"], "scope": r["scope"],
            "source": f"{r['source']} ({via})", "retrieved": REF_RETRIEVED, "notes": "; ".join(notes) or None,
        }
        row.update(over)
        rows.append(row)

    left_out = []
    for _, r in src.iterrows():
        c, t = r["cloud"], r["transfer_type"]
        if c == "aws" and t == "internet_egress" and r["tier_start_tb_per_month"] == 0.001:
            left_out.append(f"aws Sydney example ({r['usd_per_gb_max']} USD/GB, 2020): regional variation, not a US tier")
            continue
        if t in ("nat_gateway_processing", "vnet_peering"):
            left_out.append(f"{c} {t} {r['usd_per_gb_max']} USD/GB ({r['scope']}) - not a schema transfer_type")
            continue
        if c == "gcp" and t == "internet_egress_standard":
            left_out.append("gcp standard tier 0.04-0.085 USD/GB (the premium tier is the catalog's internet_egress)")
            continue
        if c == "gcp" and t == "internet_egress_premium":
            if r["tier_start_tb_per_month"] == 0 and r["usd_per_gb_min"] == 0.12 and r["usd_per_gb_max"] == 0.12:
                continue  # merged into the 0-1 TB row below
            extra = "premium tier (Google's default network tier)"
            if r["tier_start_tb_per_month"] == 0:
                extra += ("; https://egresscost.com/gcp/regions (2026-04) gives 0.12 for the first tier to worldwide "
                          "destinations excl. Australia/China (Australia 0.19), consistent with the upper end")
            extra += "; standard tier: 0.04-0.085 USD/GB (not a separate key here)"
            add(r, "internet_egress", extra)
            continue
        if c == "gcp" and t == "inter_region":
            if "between continents" in str(r["scope"]):
                continue  # merged below
            same = r
            other = src[(src.cloud == "gcp") & (src.transfer_type == "inter_region")
                        & src.scope.str.contains("between continents")].iloc[0]
            add(same, "inter_region",
                f"MERGED range: {same['usd_per_gb_min']}-{same['usd_per_gb_max']} on the same continent, "
                f"{other['usd_per_gb_min']}-{other['usd_per_gb_max']} between continents; usd_per_gb = upper end of both",
                usd_per_gb=float(other["usd_per_gb_max"]), usd_per_gb_min=float(same["usd_per_gb_min"]),
                scope="between regions (same continent and between continents)")
            continue
        if c == "azure" and t == "internet_egress" and r["tier_start_tb_per_month"] == 0.1:
            if "typical" not in str(r["scope"]):
                continue  # range row and GBP row: summarised in the notes of the typical row
            add(r, "internet_egress",
                "other sources: 0.05-0.181 USD/GB over source regions and volume tiers (lucidity.cloud); "
                "UK South ~GBP 0.070/GB first tier (azure-calc-uk.pages.dev, 2026-03)")
            continue
        if t == "inter_az":
            add(r, "inter_zone")
            continue
        add(r, t)
    # Lambda: no egress fee, from the lambda pricing page transcription
    rows.append({
        "cloud": "lambda", "transfer_type": "internet_egress", "tier_start_tb_per_month": None,
        "tier_end_tb_per_month": None, "usd_per_gb": 0.0, "usd_per_gb_min": 0.0, "scope": "all regions",
        "source": "https://raw.githubusercontent.com/api-evangelist/lambda-labs/refs/heads/main/plans/lambda-labs-plans-pricing.yml "
                  "(transcription of https://lambda.ai/instances, read 2026-09-20: 'no egress fees')",
        "retrieved": LOOKUP_RETRIEVED, "notes": "second-hand transcription of Lambda's page",
    })
    df = pd.DataFrame(rows, columns=EGRESS.names)
    build_egress.left_out = left_out  # type: ignore[attr-defined]
    return df


# ---------------------------------------------------------------------------------------------
# Fixture
# ---------------------------------------------------------------------------------------------
FIX_GPUS = ["H100-SXM-80GB", "A100-SXM-80GB", "L4-24GB", "A10G-24GB", "L40S-48GB"]
FIX_MODELS = ["llama-3.1-8b", "llama-3.1-70b", "mixtral-8x7b"]
FIX_REGIONS = [("aws", "us-east-1"), ("aws", "eu-west-1"), ("gcp", "us-central1")]


def build_fixture(cat: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    acc = cat["accelerators.csv"]
    acc = acc[acc.id.isin(FIX_GPUS)].copy()
    mod = cat["models.csv"]
    mod = mod[mod.id.isin(FIX_MODELS)].copy()
    off = cat["offers.csv"]
    keep = off.apply(lambda r: (r.cloud, r.region) in FIX_REGIONS and r.gpu in FIX_GPUS, axis=1)
    off = off[keep].copy()
    # a handful of rows: per (cloud, region, gpu) the smallest and the largest instance
    keys = ["cloud", "region", "gpu"]
    small = off.sort_values(keys + ["gpus_per_instance", "on_demand_usd_per_hour"], kind="stable").groupby(keys).head(1)
    large = off.sort_values(keys + ["gpus_per_instance", "on_demand_usd_per_hour"], ascending=[True] * 3 + [False, True],
                            kind="stable").groupby(keys).head(1)
    off = pd.concat([small, large]).drop_duplicates(["cloud", "region", "instance_type"])
    reg = cat["regions.csv"]
    reg = reg[reg.apply(lambda r: (r.cloud, r.region) in set(zip(off.cloud, off.region)), axis=1)].copy()
    dis = cat["discounts.csv"]
    dis = dis[dis.cloud.isin(set(off.cloud))].copy()
    api = cat["api_prices.csv"]
    api = pd.concat([api[api.model.isin(FIX_MODELS)].head(6), api[api.provider == "OpenAI"].head(1)])
    egr = cat["egress.csv"]
    egr = egr[egr.cloud.isin(set(off.cloud))].copy()
    return {"accelerators.csv": acc, "models.csv": mod, "offers.csv": off, "regions.csv": reg,
            "discounts.csv": dis, "api_prices.csv": api, "egress.csv": egr}


# ---------------------------------------------------------------------------------------------
def _fmt(df: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    df = df[schema.names].copy()
    for c in schema.columns:
        if c.kind == "int":
            df[c.name] = pd.to_numeric(df[c.name], errors="raise").astype("Int64")
        elif c.kind == "float":
            df[c.name] = pd.to_numeric(df[c.name], errors="raise").astype("Float64")
    return df.sort_values(list(schema.key), kind="stable").reset_index(drop=True)


def write(cat: dict[str, pd.DataFrame], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    schemas = {s.file: s for s in (ACCELERATORS, MODELS, OFFERS, REGIONS, DISCOUNTS, API_PRICES, EGRESS)}
    for f, df in cat.items():
        _fmt(df, schemas[f]).to_csv(out / f, index=False, lineterminator="\n")


def build_all(ref: Path) -> tuple[dict[str, pd.DataFrame], list[str]]:
    acc = build_accelerators(ref)
    mod = build_models(ref)
    off, gaps = build_offers(ref)
    reg = build_regions(off)
    dis = build_discounts(ref)
    api = build_api_prices(ref, set(mod.id))
    egr = build_egress(ref)
    cat = {"accelerators.csv": acc, "models.csv": mod, "offers.csv": off, "regions.csv": reg,
           "discounts.csv": dis, "api_prices.csv": api, "egress.csv": egr}
    gaps += [f"egress left out: {x}" for x in build_egress.left_out]  # type: ignore[attr-defined]
    return cat, gaps


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reference", type=Path, default=ROOT.parent / "shared" / "reference")
    ap.add_argument("--out", type=Path, default=ROOT / "catalogs")
    ap.add_argument("--fixture", action="store_true", help="also write tests/data/catalogs")
    ap.add_argument("--fixture-out", type=Path, default=ROOT / "tests" / "data" / "catalogs")
    ap.add_argument("--print-gaps", action="store_true")
    a = ap.parse_args(argv)
    cat, gaps = build_all(a.reference)
    write(cat, a.out)
    for f, df in cat.items():
        print(f"{a.out / f}: {len(df)} rows")
    if a.fixture:
        fx = build_fixture(cat)
        write(fx, a.fixture_out)
        for f, df in fx.items():
            print(f"{a.fixture_out / f}: {len(df)} rows")
    if a.print_gaps:
        print("\nleft out of offers/egress:")
        for g in gaps:
            print("  -", g)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
