import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `make install` output — release binaries linked with the static Swift standard library
/// (scripts/install.sh) — run on a machine without the Swift toolchain.
///
/// The machine without the toolchain is this one with the toolchain hidden: in a private mount
/// namespace (`unshare --mount`), an empty tmpfs is mounted over the toolchain's root (the folder above
/// the `lib/swift/linux/libswiftCore.so` the debug build loads), so neither the loader nor anything else
/// can reach a Swift library. The debug build (dynamically linked, the reference for every output)
/// must fail to start there, which proves the hiding works and that the test can fail.
///
/// `make test` installs into `.build/install-check` and sets `REFERSTREAM_INSTALL_CHECK` to the
/// installed prefix; hiding needs a mount namespace (root, as in CI, or an unprivileged user
/// namespace). Without either the tests are skipped with the reason.
@Suite("make install output runs without the Swift toolchain",
       .enabled(if: StaticInstall.prefix != nil, "REFERSTREAM_INSTALL_CHECK is not set: run `make test`, which installs into .build/install-check first"),
       .enabled(if: StaticInstall.hidingWorks,
                "hiding the toolchain needs a mount namespace: `unshare --mount` as root (CI runs as root), or an unprivileged user namespace"))
struct StaticInstallTests {
    /// Libraries of the Swift toolchain (runtime, Foundation and its ICU, Dispatch, test libraries).
    static let swiftLibraryPrefixes = ["libswift", "libFoundation", "lib_Foundation", "libdispatch", "libBlocksRuntime", "libXCTest", "libTesting"]

    func installed(_ name: String) throws -> URL {
        let prefix = try #require(StaticInstall.prefix)
        let url = prefix.appendingPathComponent("bin").appendingPathComponent(name)
        try #require(FileManager.default.isExecutableFile(atPath: url.path), "\(url.path) is not installed (make test runs scripts/install.sh first)")
        return url
    }

    func debug(_ name: String) throws -> URL {
        try #require(builtProduct(name), "the debug \(name) is not built next to the tests (swift build --build-tests)")
    }

    @Test("ldd of the installed binaries lists system libraries only (GStreamer, libzmq, OpenBLAS, libc), no Swift library")
    func linkedLibraries() throws {
        let toolchain = try #require(StaticInstall.toolchain)
        // The reference: the debug build does load the Swift runtime from the toolchain, so the check
        // below would see one.
        let dynamic = try StaticInstall.ldd(try debug("referstream"))
        #expect(dynamic.contains { $0.name.hasPrefix("libswiftCore") && $0.path?.hasPrefix(toolchain.path + "/") == true }, "\(dynamic)")

        for (name, expected) in [("referstream", ["libgstreamer-1.0.so", "libopenblas", "libc.so"]),
                                 ("referstreamd", ["libgstreamer-1.0.so", "libgstapp-1.0.so", "libzmq.so", "libopenblas", "libc.so"])] {
            let libraries = try StaticInstall.ldd(try installed(name))
            for library in libraries {
                #expect(!Self.swiftLibraryPrefixes.contains { library.name.hasPrefix($0) }, "\(name) links \(library.name)")
                if let path = library.path {
                    #expect(path.hasPrefix("/lib/") || path.hasPrefix("/lib64/") || path.hasPrefix("/usr/lib/"), "\(name): \(library.name) from \(path)")
                    #expect(!path.hasPrefix(toolchain.path + "/"), "\(name): \(library.name) from the toolchain")
                } else {
                    #expect(library.name.hasPrefix("linux-vdso") || library.name.hasPrefix("/lib"), "\(name): \(library.name) not found")
                }
            }
            for library in expected {
                #expect(libraries.contains { $0.name.hasPrefix(library) }, "\(name) should link \(library): \(libraries.map(\.name))")
            }
        }
    }

    @Test("--version and --help with the toolchain hidden print what the debug build prints; the debug build cannot start there")
    func versionAndHelp() throws {
        let referstream = try installed("referstream"), referstreamd = try installed("referstreamd")
        for (binary, reference, arguments) in [(referstream, try debug("referstream"), ["--version"]),
                                               (referstream, try debug("referstream"), ["--help"]),
                                               (referstream, try debug("referstream"), ["segment", "--help"]),
                                               (referstreamd, try debug("referstreamd"), ["--help"])] {
            let expected = try run(reference, arguments)
            #expect(expected.status == 0 && !expected.stdout.isEmpty, "debug \(reference.lastPathComponent) \(arguments): \(expected)")
            let hidden = try StaticInstall.runHidden(binary, arguments)
            #expect(hidden.status == expected.status, "\(binary.lastPathComponent) \(arguments) with the toolchain hidden: \(hidden)")
            #expect(hidden.stdout == expected.stdout, "\(binary.lastPathComponent) \(arguments): \(hidden.stdout) vs \(expected.stdout)")
            #expect(hidden.stderr == expected.stderr, "\(binary.lastPathComponent) \(arguments): \(hidden.stderr)")
        }
        #expect(try StaticInstall.runHidden(referstream, ["--version"]).stdout == referStreamVersionInSource() + "\n")

        // The control: the dynamically linked debug build, in the same setting, finds no Swift runtime.
        for name in ["referstream", "referstreamd"] {
            let failed = try StaticInstall.runHidden(try debug(name), ["--help"])
            #expect(failed.status == 127, "debug \(name) with the toolchain hidden: \(failed)")
            // The loader names the first Swift library it misses (libswiftSwiftOnoneSupport.so in debug).
            #expect(failed.stderr.contains("error while loading shared libraries: libswift") && failed.stderr.contains("cannot open shared object file"),
                    "\(failed.stderr)")
            #expect(failed.stdout.isEmpty, "\(failed.stdout)")
        }
    }

    @Test("segment and --check-config with the installed model and the toolchain hidden give the debug build's results")
    func realWork() throws {
        let prefix = try #require(StaticInstall.prefix)
        let directory = try temporaryDirectory("static-install")
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = prefix.appendingPathComponent("share/referstream/model")
        let clip = try makeBallClip(in: directory, frames: 4)

        // No --weights: the installed binary finds the model installed next to it (PREFIX/share/referstream/model);
        // the debug build is pointed at the same folder.
        func segment(_ binary: URL, hidden: Bool, into name: String) throws -> (CommandResult, URL) {
            let out = directory.appendingPathComponent(name)
            let arguments = ["segment", "--input", clip.path, "--output", out.path, "--shorter-side", "48", "--window", "2",
                             "--text", "the red circle", "--text", "the small blue square"]
            return (hidden ? try StaticInstall.runHidden(binary, arguments)
                           : try run(binary, arguments, environment: StaticInstall.environment.merging(["REFERSTREAM_MODEL_DIR": model.path]) { $1 }), out)
        }
        let (mine, out) = try segment(try installed("referstream"), hidden: true, into: "installed")
        let (reference, referenceOut) = try segment(try debug("referstream"), hidden: false, into: "debug")
        #expect(mine.status == 0 && reference.status == 0, "installed: \(mine)\ndebug: \(reference)")
        #expect(mine.stderr.contains("no --weights: using the bundled model (installed: \(model.path))"), "\(mine.stderr)")
        #expect(reference.stderr.contains("no --weights: using the bundled model ($REFERSTREAM_MODEL_DIR: \(model.path))"), "\(reference.stderr)")
        // make install bundles the demo model: its weights, configuration and tokenizer.
        for file in ["weights.safetensors", "config.json", "tokenizer/vocab.json", "tokenizer/merges.txt"] {
            let installedFile = try Data(contentsOf: model.appendingPathComponent(file))
            let source = try Data(contentsOf: packageRoot.appendingPathComponent("models/demo").appendingPathComponent(file.replacingOccurrences(of: "tokenizer/", with: "")))
            #expect(installedFile == source, "\(file) is not models/demo's")
        }
        // The same summary (counts, then per phrase its score and tracks), apart from the folder and the
        // elapsed time (the first line's " in 1.2 s (…)").
        func summary(_ r: CommandResult, _ folder: URL) -> [String] {
            r.stdout.replacingOccurrences(of: folder.path, with: "OUT").split(separator: "\n").map { line in
                String(line.range(of: " in ").map { line[..<$0.lowerBound] } ?? line)
            }
        }
        #expect(summary(mine, out) == summary(reference, referenceOut), "\(mine.stdout)\nvs\n\(reference.stdout)")
        let files = try FileManager.default.subpathsOfDirectory(atPath: out.path).sorted()
        #expect(files == (try FileManager.default.subpathsOfDirectory(atPath: referenceOut.path).sorted()), "\(files)")
        #expect(files.filter { $0.hasSuffix(".png") }.count == 8, "4 frames × 2 phrases: \(files)")
        for file in files where file.hasSuffix(".png") {
            let a = try Data(contentsOf: out.appendingPathComponent(file)), b = try Data(contentsOf: referenceOut.appendingPathComponent(file))
            #expect(a == b, "\(file) differs between the installed release build and the debug build")
        }

        // The daemon: parse the installed configuration, load the installed model, check the endpoints.
        let configuration = try #require(FileManager.default.contents(atPath: prefix.deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("etc/referstream/referstreamd.yaml").path), "the installed configuration")
        let config = directory.appendingPathComponent("referstreamd.yaml")
        try configuration.write(to: config)
        let arguments = ["--check-config", config.path, "--masks", "ipc://\(directory.path)/masks", "--control", "ipc://\(directory.path)/control", "--metrics", "off"]
        let environment = ["REFERSTREAM_MODEL_DIR": model.path]
        let daemonReference = try run(try debug("referstreamd"), arguments, environment: StaticInstall.environment.merging(environment) { $1 })
        let daemon = try StaticInstall.runHidden(try installed("referstreamd"), arguments, environment: environment)
        #expect(daemonReference.status == 0 && daemonReference.stdout.contains("is valid"), "\(daemonReference)")
        // The same plan, apart from the model's loading time.
        let plan = { (r: CommandResult) in r.stdout.replacing(/loaded in [0-9.]+ s/, with: "loaded in … s") }
        #expect(daemon.status == 0 && plan(daemon) == plan(daemonReference), "\(daemon)\nvs\n\(daemonReference)")
    }

    /// The string literal of `let referStreamVersion = "…"` in Sources/referstream/Version.swift.
    func referStreamVersionInSource() throws -> String {
        let source = try String(contentsOf: packageRoot.appendingPathComponent("Sources/referstream/Version.swift"), encoding: .utf8)
        let line = try #require(source.split(separator: "\n").first { $0.hasPrefix("let referStreamVersion") })
        return String(line.split(separator: "\"", omittingEmptySubsequences: false)[1])
    }
}

/// Where the installed tree and the toolchain are, and how to run with the toolchain hidden.
enum StaticInstall {
    /// The installed prefix (`$REFERSTREAM_INSTALL_CHECK`, which `make test` sets), when it has `bin/`.
    static let prefix: URL? = {
        guard let path = ProcessInfo.processInfo.environment["REFERSTREAM_INSTALL_CHECK"], !path.isEmpty else { return nil }
        return URL(fileURLWithPath: path)
    }()

    /// The toolchain root: the folder holding `bin/` above the `libswiftCore.so` that the debug build
    /// loads (`/opt/swift/usr` for `/opt/swift/usr/lib/swift/linux/libswiftCore.so`).
    static let toolchain: URL? = {
        guard let binary = builtProduct("referstream"), let libraries = try? ldd(binary),
              let core = libraries.first(where: { $0.name.hasPrefix("libswiftCore.so") })?.path else { return nil }
        var url = URL(fileURLWithPath: core).resolvingSymlinksInPath().deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("bin").path) { return url }
            url.deleteLastPathComponent()
        }
        return nil
    }()

    /// The `unshare` options under which a tmpfs mount over the toolchain succeeds: a mount namespace as
    /// root, else inside a user namespace (where the kernel allows unprivileged ones); nil: neither.
    static let unshareOptions: [String]? = {
        guard let toolchain, FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") else { return nil }
        let candidates = (geteuid() == 0 ? [["--mount"]] : []) + [["--user", "--map-root-user", "--mount"]]
        return candidates.first { options in
            let probe = try? run(URL(fileURLWithPath: "/usr/bin/unshare"), options + ["sh", "-c", "mount -t tmpfs referstream-hidden \"$0\"", toolchain.path])
            return probe?.status == 0
        }
    }()

    static var hidingWorks: Bool { unshareOptions != nil }

    /// The test's environment without the loader path and the toolchain's folders in PATH.
    static var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["LD_LIBRARY_PATH"] = nil
        environment["LD_PRELOAD"] = nil
        if let path = environment["PATH"], let toolchain {
            environment["PATH"] = path.split(separator: ":").filter { !$0.hasPrefix(toolchain.path) }.joined(separator: ":")
        }
        return environment
    }

    /// Runs `binary` in a private mount namespace where an empty tmpfs covers the toolchain root.
    /// Exit status 99: the toolchain could not be hidden (the test then fails, it does not pass).
    static func runHidden(_ binary: URL, _ arguments: [String], environment extra: [String: String] = [:]) throws -> CommandResult {
        let toolchain = try #require(toolchain, "no toolchain found from the debug build's libswiftCore.so")
        let script = "mount -t tmpfs referstream-hidden \"$0\" && ! test -e \"$0/bin\" || exit 99; exec \"$@\""
        let options = try #require(unshareOptions, "no mount namespace")
        let result = try run(URL(fileURLWithPath: "/usr/bin/unshare"), options + ["sh", "-c", script, toolchain.path, binary.path] + arguments,
                             environment: environment.merging(extra) { $1 })
        #expect(result.status != 99, "could not hide \(toolchain.path): \(result)")
        return result
    }

    /// One line of `ldd`: the library's name and where it resolved (nil: not found, or the vDSO).
    struct Library: CustomStringConvertible {
        var name: String
        var path: String?
        var description: String { "\(name) => \(path ?? "-")" }
    }

    static func ldd(_ binary: URL) throws -> [Library] {
        let result = try run(URL(fileURLWithPath: "/usr/bin/ldd"), [binary.path])
        guard result.status == 0 else { throw FixtureError("ldd \(binary.path): \(result)") }
        return result.stdout.split(separator: "\n").compactMap { line in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let name = fields.first else { return nil }
            if fields.count >= 3, fields[1] == "=>" {
                return Library(name: name, path: fields[2].hasPrefix("/") ? fields[2] : nil)
            }
            return Library(name: name, path: name.hasPrefix("/") ? name : nil)
        }
    }
}
