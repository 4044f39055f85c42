#!/usr/bin/env bash
# Tensorium build script. Verbs: test | bench [filter | --alternating [steps|winograd]] | demo | serve | pack | gpu-check
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# Runs a command as root: directly when we are root, else through passwordless sudo.
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

# Installs Debian packages when apt is there and we may use it (root, or passwordless sudo).
apt_install() {
  command -v apt-get >/dev/null || { echo "note: apt-get not found; install $* yourself" >&2; return 0; }
  as_root apt-get update -qq >/dev/null 2>&1 || true
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 \
    || echo "note: could not install $* (continuing without)" >&2
}

verb="${1:-test}"
case "$verb" in
  test)
    # The test suite reads the real Fashion-MNIST test split when it is installed.
    [ -d /usr/share/datasets/fashion-mnist ] || apt_install dataset-fashion-mnist
    # The serving host's web page is checked in a real headless browser (skipped with a message without one).
    command -v chromium >/dev/null || command -v chromium-browser >/dev/null || apt_install chromium
    # The BERT example's tests fine-tune on Bible verses (skipped with a message without the bible command).
    command -v bible >/dev/null || apt_install bible-kjv bible-kjv-text
    # The GPU kernels need no driver here: the op suite runs them on ILGPU's CPU accelerator (the emulated device).
    log=$(mktemp)
    if ! dotnet build Tensorium.sln -c Release -clp:ErrorsOnly >"$log" 2>&1; then
      cat "$log"; rm -f "$log"
      echo "Tests: 0 passed, 1 failed, 0 skipped"   # the build itself failed
      exit 1
    fi
    set +e
    dotnet test Tests/Tests.csproj -c Release --no-build 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    set -e
    summary=$(grep -E "(Passed|Failed)!? +- +Failed:" "$log" | tail -1)
    failed=$(echo "$summary" | sed -nE 's/.*Failed: +([0-9]+).*/\1/p'); failed=${failed:-0}
    passed=$(echo "$summary" | sed -nE 's/.*Passed: +([0-9]+).*/\1/p'); passed=${passed:-0}
    skipped=$(echo "$summary" | sed -nE 's/.*Skipped: +([0-9]+).*/\1/p'); skipped=${skipped:-0}
    rm -f "$log"
    if [ -z "$summary" ] && [ "$rc" != 0 ]; then failed=1; fi
    echo "Tests: $passed passed, $failed failed, $skipped skipped"
    [ "$rc" = 0 ] && [ "$failed" = 0 ]
    ;;
  bench)
    filter="${2:-*}"
    if ! ldconfig -p 2>/dev/null | grep -q libopenblas.so.0; then apt_install libopenblas0-pthread; fi
    # PyTorch runs the same training steps and kernels beside Tensorium's (Bench/torch_steps.py, Bench/TorchBaseline.cs).
    python3 -c "import torch" 2>/dev/null || /usr/bin/python3 -c "import torch" 2>/dev/null || apt_install python3-torch
    # The machine's environment may pin OpenBLAS to an older core type; the baseline runs at its best.
    # "--alternating" times GEMM and OpenBLAS in alternating rounds in one process (Bench/AlternatingGemm.cs),
    # "--alternating steps" each example's training step and PyTorch's (Bench/AlternatingSteps.cs),
    # "--alternating winograd" the 3x3 convolutions by Winograd and by im2col (Bench/AlternatingWinograd.cs).
    if [ "$filter" = "Serving" ]; then
      # A bounded load run on loopback: 20,000 requests from 64 clients against the CNN, next to its offline Predict (Bench/ServingLoad.cs).
      dotnet run -c Release --project Bench -- --serving "${@:3}"
    elif [ "$filter" = "--alternating" ]; then
      env -u OPENBLAS_CORETYPE dotnet run -c Release --project Bench -- --alternating "${@:3}"
    else
      env -u OPENBLAS_CORETYPE dotnet run -c Release --project Bench -- --filter "*${filter}*" "${@:3}"
    fi
    ;;
  demo)
    shift || true
    # The main job is the Keras tutorial CNN on Fashion-MNIST; each example installs its data.
    case "${1:-cnn}" in
      cnn|mlp|lstm|transfer) [ -d /usr/share/datasets/fashion-mnist ] || apt_install dataset-fashion-mnist ;;
      transformer|bert) command -v bible >/dev/null || apt_install bible-kjv bible-kjv-text ;;
    esac
    # "--graph FILE" draws the tape as SVG with Graphviz; without it the DOT file is still written.
    case " $* " in *" --graph "*) command -v dot >/dev/null || apt_install graphviz ;; esac
    dotnet run -c Release --project Examples -- "${@:-cnn}"
    ;;
  serve)
    shift || true
    # Serves every model card (NAME.json + NAME.safetensors) in --models DIR (default artifacts/examples) on --port N (default 8080).
    dotnet run -c Release --project Serving -- "$@"
    ;;
  gpu-check)
    # A self-contained, trimmed runner for GPU machines without .NET: copy artifacts/gpu-check there
    # and run ./gpu-check (parity against the CPU on every device, then benchmarks).
    rm -rf artifacts/gpu-check
    dotnet publish Bench/GpuCheck -c Release -r linux-x64 --self-contained -o artifacts/gpu-check -clp:ErrorsOnly
    cp Bench/GpuCheck/torch_reference.py artifacts/gpu-check/
    echo "gpu-check: $(du -sh artifacts/gpu-check | cut -f1) in artifacts/gpu-check"
    ;;
  pack)
    # Tensorium (the one package a user adds) and the four libraries it brings, with .snupkg symbols.
    rm -rf artifacts/packages
    dotnet pack Tensorium.sln -c Release -o artifacts/packages -clp:ErrorsOnly
    version=$(sed -nE 's|.*<Version>(.*)</Version>.*|\1|p' Directory.Build.props)
    # Proof that the one package is enough: a new console app adds only Tensorium, from this
    # folder, restores into a packages folder of its own (so no older copy of this version can
    # stand in), builds and trains one step.
    app=$(mktemp -d)
    trap 'rm -rf "$app"' EXIT
    cat >"$app/nuget.config" <<XML
<configuration>
  <packageSources>
    <clear />
    <add key="tensorium" value="$PWD/artifacts/packages" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
</configuration>
XML
    cat >"$app/App.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <ImplicitUsings>enable</ImplicitUsings>
    <Nullable>enable</Nullable>
    <RestorePackagesPath>$app/packages</RestorePackagesPath>
  </PropertyGroup>
</Project>
XML
    cat >"$app/Program.cs" <<'CS'
using Tensorium;
using Tensorium.Layers;
using Tensorium.Optim;

using var scope = new TensorScope();
using var model = new Sequential(new Linear(3, 8), new ReLU(), new Linear(8, 2));
using var optimizer = new Adam(model.Parameters(), learningRate: 1e-2);
var loss = model.Forward(Tensor.Ones([4, 3])).CrossEntropy(Tensor.FromArray(new long[] { 0, 1, 0, 1 }));
loss.Backward();
optimizer.Step();
Console.WriteLine($"package check: one training step from the Tensorium package, loss {loss.Item():F4}");
CS
    (cd "$app" && dotnet add App.csproj package Tensorium --version "$version" >/dev/null && dotnet run -c Release)
    echo "pack: $(ls artifacts/packages | wc -l) files in artifacts/packages (Tensorium $version)"
    ;;
  *)
    echo "usage: ./build.sh test | bench [filter | --alternating [steps|winograd]] | demo | serve [--models DIR] [--port N] | pack | gpu-check" >&2
    exit 2
    ;;
esac
