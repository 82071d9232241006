// swift-tools-version: 6.0
// ReferStream: referring video object segmentation (ReferFormer) on live video, on the CPU.
// Layout and conventions: see README.md ("Architecture").
import PackageDescription

let package = Package(
    name: "ReferStream",
    products: [],
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
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .target(name: "CGStreamerShims", dependencies: ["CGStreamer"]),

        // MARK: Engine
        .target(name: "Tensor", dependencies: ["COpenBLAS"]),
        .target(name: "ReferFormer", dependencies: ["Tensor"]),
        .target(name: "Checkpoint"),

        // MARK: I/O
        .target(name: "VideoIngest", dependencies: ["CGStreamer", "CGStreamerShims"]),
        .target(name: "ZeroMQ", dependencies: ["CZeroMQ"]),

        // MARK: Tools
        .executableTarget(
            name: "referstream-bench",
            dependencies: ["Tensor", "ReferFormer", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),

        // MARK: Tests
        .target(name: "TestSupport", dependencies: ["Tensor", "Checkpoint"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "Checkpoint", "TestSupport"]),
        .testTarget(name: "CheckpointTests", dependencies: ["Checkpoint"]),
        .testTarget(name: "ReferFormerSegmentationTests", dependencies: ["ReferFormer", "Tensor", "TestSupport"]),
        .testTarget(name: "VideoIngestTests", dependencies: ["VideoIngest"]),
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ"]),
    ],
    swiftLanguageModes: [.v6]
)
