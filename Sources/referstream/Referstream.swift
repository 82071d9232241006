import ArgumentParser
@main struct Referstream: ParsableCommand { func run() {} }
