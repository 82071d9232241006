// swift-tools-version: 6.0
// ReferStream: referring video object segmentation (ReferFormer) on live video, on the CPU.
// Layout and conventions: see README.md ("Architecture").
import PackageDescription

let package = Package(
    name: "ReferStream",
    products: [
        .executable(name: "referstream", targets: ["referstream"]),
        .executable(name: "referstreamd", targets: ["referstreamd"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // The daemon (Daemon, referstreamd). FlyingFox instead of Hummingbird for /metrics and /healthz:
        // it has no dependencies (no SwiftNIO), which keeps the CI build minutes down (README, "Daemon").
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.0"),
    ],
    targets: [
        // MARK: Native libraries (system-library targets: a module map and one umbrella header each)
        .systemLibrary(
            name: "CGStreamer",
            pkgConfig: "gstreamer-app-1.0",
            providers: [.apt(["libgstreamer1.0-dev", "libgstreamer-plugins-base1.0-dev"])]
        ),
        // libzmq's header is on the default include path; its pkg-config file only adds flags that
        // SwiftPM rejects (-isystem for krb5), so it links as plain `zmq` from the module map.
        .systemLibrary(name: "CZeroMQ", providers: [.apt(["libzmq3-dev"])]),
        // zlib (deflate and CRC-32) for PNG masks; on every Linux system (zlib1g-dev).
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .target(name: "CGStreamerShims", dependencies: ["CGStreamer"]),

        // MARK: Engine
        .target(name: "Tensor", dependencies: ["COpenBLAS"]),
        // StrictJSON: the one strict JSON reader and string escaper (standard library only).
        .target(name: "StrictJSON"),
        .target(name: "Checkpoint", dependencies: ["StrictJSON"]),
        .target(name: "Tokenizer", dependencies: ["StrictJSON"]),
        // FrameGeometry: torchvision's resize-size rule, shared by ingest scaling and the model's pre-processing.
        .target(name: "FrameGeometry"),
        .target(name: "ReferFormer", dependencies: ["Tensor", "Checkpoint", "Tokenizer", "FrameGeometry"]),
        .target(name: "Tracking", dependencies: ["ReferFormer", "Tensor", "Tokenizer"]),

        // MARK: I/O
        // Plumbing: the bounded drop-oldest queue, the joinable service thread and the monitor (mutex +
        // condition) that VideoIngest, Transport and the daemon share. Standard library only.
        .target(name: "Plumbing"),
        .target(name: "VideoIngest", dependencies: ["CGStreamer", "CGStreamerShims", "Plumbing", "FrameGeometry"]),
        .target(name: "ZeroMQ", dependencies: ["CZeroMQ"]),
        // No I/O; zlib only for the PNG mask codec (deflate, CRC-32), next to the other payload codecs.
        .target(name: "WireProtocol", dependencies: ["CZlib", "StrictJSON"]),
        .target(name: "Transport", dependencies: ["ZeroMQ", "WireProtocol", "Plumbing"]),

        // MARK: Daemon (the only module that combines the model and I/O)
        .target(
            name: "Daemon",
            dependencies: [
                "ReferFormer", "Tokenizer", "Tensor", "Tracking", "VideoIngest", "Transport", "WireProtocol", "ZeroMQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "FlyingFox", package: "FlyingFox"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .target(name: "Evaluation", dependencies: ["CZlib"]),

        // MARK: Executables (thin: argument parsing and wiring)
        .executableTarget(
            name: "referstreamd",
            dependencies: ["Daemon", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "referstream",
            dependencies: [
                "ReferFormer", "Tokenizer", "Checkpoint", "Tensor", "Tracking", "VideoIngest", "Transport", "WireProtocol",
                "ZeroMQ", "StrictJSON", "Evaluation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: Benchmarks (release-mode speed figures, never inside unit tests)
        // BenchmarkSupport: analytic FLOP counts, timing, the sgemm baseline and the `make bench` report.
        .target(name: "BenchmarkSupport", dependencies: ["ReferFormer", "Tensor"]),
        .executableTarget(
            name: "referstream-bench",
            dependencies: ["Tensor", "Checkpoint", "ReferFormer", "Tokenizer", "Tracking", "BenchmarkSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(name: "tokenizer-bench", dependencies: ["Tokenizer"]),
        .executableTarget(name: "transport-bench", dependencies: ["Transport", "WireProtocol", "ZeroMQ"]),
        .executableTarget(name: "ingest-bench", dependencies: ["VideoIngest"]),

        // MARK: Tests
        .target(name: "TestSupport", dependencies: ["Tensor", "Checkpoint"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "Checkpoint", "TestSupport"]),
        .testTarget(name: "CheckpointTests", dependencies: ["Checkpoint", "StrictJSON", "TestSupport"]),
        .testTarget(name: "TokenizerTests", dependencies: ["Tokenizer", "StrictJSON"]),
        .testTarget(name: "ReferFormerTests", dependencies: ["ReferFormer", "Checkpoint", "Tensor", "Tokenizer", "TestSupport"]),
        .testTarget(name: "ReferStreamCLITests", dependencies: ["Checkpoint", "ReferFormer", "Tensor", "TestSupport"]),
        .testTarget(name: "VideoIngestTests", dependencies: ["VideoIngest"]),
        .testTarget(name: "TrackingTests", dependencies: ["Tracking", "ReferFormer", "Checkpoint", "Tensor", "Tokenizer", "TestSupport"]),
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ"]),
        .testTarget(name: "PlumbingTests", dependencies: ["Plumbing"]),
        .testTarget(name: "StrictJSONTests", dependencies: ["StrictJSON"]),
        .testTarget(name: "WireProtocolTests", dependencies: ["WireProtocol", "TestSupport", "CZlib"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation"]),
        .testTarget(name: "BenchmarkSupportTests", dependencies: ["BenchmarkSupport", "ReferFormer"]),
        .testTarget(
            name: "TransportTests",
            dependencies: ["Transport", "WireProtocol", "ZeroMQ", "TestSupport"],
            exclude: ["Python"]
        ),
        .testTarget(
            name: "DaemonTests",
            dependencies: ["Daemon", "Transport", "WireProtocol", "ZeroMQ", "VideoIngest", "TestSupport"],
            exclude: ["Python"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
