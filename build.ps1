# Tensorium build script for PowerShell (same verbs as build.sh): test | bench [filter | --alternating [steps|winograd]] | demo | serve | pack | gpu-check
param([Parameter(Position = 0)][string]$Verb = "test", [Parameter(Position = 1, ValueFromRemainingArguments = $true)][string[]]$Rest)
$ErrorActionPreference = "Stop"
Set-Location $PSScriptRoot
$env:DOTNET_CLI_TELEMETRY_OPTOUT = "1"; $env:DOTNET_NOLOGO = "1"

# On Linux and macOS build.sh does the same job and also installs what the verbs need with apt
# (OpenBLAS, the data sets), so one script holds that logic. What follows is for Windows.
if ($IsLinux -or $IsMacOS) {
  & bash (Join-Path $PSScriptRoot "build.sh") $Verb @Rest
  exit $LASTEXITCODE
}

switch ($Verb) {
  "test" {
    dotnet build Tensorium.sln -c Release -clp:ErrorsOnly
    if ($LASTEXITCODE -ne 0) { Write-Output "Tests: 0 passed, 1 failed, 0 skipped"; exit 1 }
    dotnet test Tests/Tests.csproj -c Release --no-build 2>&1 | Tee-Object -Variable output
    $rc = $LASTEXITCODE
    $summary = $output | Select-String -Pattern "Failed:\s+(\d+), Passed:\s+(\d+), Skipped:\s+(\d+)" | Select-Object -Last 1
    if ($summary) {
      $m = $summary.Matches[0].Groups
      Write-Output "Tests: $($m[2].Value) passed, $($m[1].Value) failed, $($m[3].Value) skipped"
    } else {
      Write-Output "Tests: 0 passed, $([int]($rc -ne 0)) failed, 0 skipped"
    }
    exit $rc
  }
  "bench" {
    $filter = if ($Rest) { $Rest[0] } else { "*" }
    # The baseline runs at its best: unset a pinned OpenBLAS core type for the bench only.
    $coreType = $env:OPENBLAS_CORETYPE
    Remove-Item Env:OPENBLAS_CORETYPE -ErrorAction SilentlyContinue
    try {
      if ($filter -eq "Serving") { dotnet run -c Release --project Bench -- --serving @($Rest | Select-Object -Skip 1) }
      elseif ($filter -eq "--alternating") { dotnet run -c Release --project Bench -- --alternating @($Rest | Select-Object -Skip 1) }
      else { dotnet run -c Release --project Bench -- --filter "*$filter*" }
    } finally { if ($coreType) { $env:OPENBLAS_CORETYPE = $coreType } }
    exit $LASTEXITCODE
  }
  "demo" {
    $demoArgs = if ($Rest) { $Rest } else { @("cnn") }
    dotnet run -c Release --project Examples -- @demoArgs
    exit $LASTEXITCODE
  }
  "serve" {
    # Serves every model card (NAME.json + NAME.safetensors) in --models DIR (default artifacts/examples) on --port N (default 8080).
    dotnet run -c Release --project Serving -- @Rest
    exit $LASTEXITCODE
  }
  "gpu-check" {
    Remove-Item -Recurse -Force artifacts/gpu-check -ErrorAction SilentlyContinue
    dotnet publish Bench/GpuCheck -c Release -r linux-x64 --self-contained -o artifacts/gpu-check -clp:ErrorsOnly
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
    Copy-Item Bench/GpuCheck/torch_reference.py artifacts/gpu-check/
    exit 0
  }
  "pack" {
    dotnet pack Tensorium.sln -c Release -o artifacts/packages
    exit $LASTEXITCODE
  }
  default { Write-Error "usage: ./build.ps1 test | bench [filter | --alternating [steps|winograd]] | demo | serve [--models DIR] [--port N] | pack | gpu-check"; exit 2 }
}
