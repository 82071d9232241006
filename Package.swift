// swift-tools-version: 6.0
// ReferStream: referring video object segmentation (ReferFormer) on live video, on the CPU.
// Layout and conventions: see README.md ("Architecture").
import PackageDescription

let package = Package(
    name: "ReferStream",
    products: [
        .executable(name: "referstream", targets: ["referstream"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
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
        .target(name: "ReferFormer", dependencies: ["Tensor", "Checkpoint", "Tokenizer"]),

        // MARK: I/O
        // Plumbing: the bounded drop-oldest queue, the joinable service thread and the monitor (mutex +
        // condition) that VideoIngest, Transport and the daemon share. Standard library only.
        .target(name: "Plumbing"),
        .target(name: "VideoIngest", dependencies: ["CGStreamer", "CGStreamerShims", "Plumbing"]),
        .target(name: "ZeroMQ", dependencies: ["CZeroMQ"]),
        // No I/O; zlib only for the PNG mask codec (deflate, CRC-32), next to the other payload codecs.
        .target(name: "WireProtocol", dependencies: ["CZlib", "StrictJSON"]),
        .target(name: "Transport", dependencies: ["ZeroMQ", "WireProtocol", "Plumbing"]),

        // MARK: Executables (thin: argument parsing and wiring)
        .executableTarget(
            name: "referstream",
            dependencies: [
                "ReferFormer", "Tokenizer", "Checkpoint", "Tensor", "VideoIngest", "Transport", "WireProtocol",
                "ZeroMQ", "StrictJSON",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: Benchmarks (release-mode speed figures, never inside unit tests)
        .executableTarget(
            name: "referstream-bench",
            dependencies: ["Tensor", "Checkpoint", "ReferFormer", .product(name: "ArgumentParser", package: "swift-argument-parser")]
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
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ"]),
        .testTarget(name: "PlumbingTests", dependencies: ["Plumbing"]),
        .testTarget(name: "StrictJSONTests", dependencies: ["StrictJSON"]),
        .testTarget(name: "WireProtocolTests", dependencies: ["WireProtocol", "TestSupport"]),
        .testTarget(
            name: "TransportTests",
            dependencies: ["Transport", "WireProtocol", "ZeroMQ", "TestSupport"],
            exclude: ["Python"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
