// Mutual TLS between nodes (tls+tcp://): members with certificates signed by the cluster's CA
// form a cluster; a node whose certificate another CA signed can neither join nor inject.
// The certificates are made by the openssl command for each test run.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "convergent/node.h"
#include "node_test_support.h"
#include "replication_test_support.h"

namespace convergent {
namespace {

using test::GValue;
using test::Increment;
using test::Reachable;
using test::WaitFor;

class Pki {
 public:
  Pki() {
    char tmpl[] = "/tmp/convergent-tls-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  ~Pki() { std::filesystem::remove_all(dir_); }

  // A self-signed CA named `ca`.
  bool MakeCa(const std::string& ca) {
    return Run("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=" + ca + " -keyout " +
               Path(ca + ".key") + " -out " + Path(ca + ".pem"));
  }
  // A certificate for `name` signed by `ca`, written with its key to <name>.pem.
  bool MakeCert(const std::string& name, const std::string& ca) {
    const std::string ext = Path(name + ".ext");
    return Run("printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > " + ext) &&
           Run("openssl req -newkey rsa:2048 -nodes -subj /CN=" + name + " -keyout " +
               Path(name + ".key") + " -out " + Path(name + ".csr")) &&
           Run("openssl x509 -req -days 2 -in " + Path(name + ".csr") + " -CA " +
               Path(ca + ".pem") + " -CAkey " + Path(ca + ".key") + " -CAcreateserial -extfile " +
               ext + " -out " + Path(name + ".crt")) &&
           Run("cat " + Path(name + ".crt") + " " + Path(name + ".key") + " > " +
               Path(name + ".pem"));
  }
  std::string Path(const std::string& file) const { return dir_ + "/" + file; }

 private:
  static bool Run(const std::string& cmd) {
    return std::system((cmd + " 2>/dev/null").c_str()) == 0;
  }
  std::string dir_;
};

// `separate_key`: the certificate and its key in two files (else one PEM file holds both).
NodeOptions TlsOptions(const Pki& pki, const std::string& name, const std::string& ca,
                       std::vector<std::string> seeds, bool separate_key = false) {
  NodeOptions o = test::FastOptions("tls+tcp://127.0.0.1:0", std::move(seeds));
  if (separate_key) {
    o.transport.tls_cert_file = pki.Path(name + ".crt");
    o.transport.tls_key_file = pki.Path(name + ".key");
  } else {
    o.transport.tls_cert_file = pki.Path(name + ".pem");
  }
  o.transport.tls_ca_file = pki.Path(ca + ".pem");
  return o;
}

TEST(NodeTlsTest, MembersOfTheCaJoinAndANodeOfAnotherCaIsRefused) {
  Pki pki;
  if (std::system("command -v openssl >/dev/null 2>&1") != 0) GTEST_SKIP() << "no openssl";
  ASSERT_TRUE(pki.MakeCa("cluster-ca") && pki.MakeCa("rogue-ca"));
  ASSERT_TRUE(pki.MakeCert("a", "cluster-ca") && pki.MakeCert("b", "cluster-ca") &&
              pki.MakeCert("intruder", "rogue-ca"));

  auto a = Node::Start(TlsOptions(pki, "a", "cluster-ca", {}));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto b = Node::Start(TlsOptions(pki, "b", "cluster-ca", {(*a)->bus_url()}, true));
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_TRUE(WaitFor([&] { return Reachable(**a) == 2 && Reachable(**b) == 2; }));

  // The intruder trusts the cluster's CA, but its own certificate is signed by another one.
  auto intruder = Node::Start(TlsOptions(pki, "intruder", "cluster-ca", {(*a)->bus_url()}));
  ASSERT_TRUE(intruder.ok()) << intruder.status().ToString();
  Increment(**intruder, "k", 1000);
  Increment(**b, "k", 1);
  ASSERT_TRUE(WaitFor([&] { return GValue(**a, "k") == 1; }));
  // Long enough for several heartbeats, dials and anti-entropy rounds of the intruder: it never
  // counts as a member nor writes. (b may drop out of sight for a moment on a loaded machine:
  // it did once under TSan beside two chaos runs; that is not what this test is about.)
  EXPECT_FALSE(WaitFor([&] { return GValue(**a, "k") != 1 || Reachable(**a) > 2; }, 1.5));
  EXPECT_EQ(Reachable(**intruder), 1u);
  EXPECT_EQ(GValue(**b, "k"), 1u);
  // Refused, and counted on both sides (NNG retries the dial silently otherwise).
  EXPECT_GT((*a)->Metrics().at("convergent.transport.handshakes.refused"), 0);
  EXPECT_GT((*intruder)->Metrics().at("convergent.transport.dials.refused"), 0);
  EXPECT_EQ((*b)->Metrics().at("convergent.transport.dials.refused"), 0);
}

// Between datacenters the gateways talk point to point, over the same mutual TLS: members of the
// CA replicate across; a datacenter whose node has another CA's certificate learns nothing.
TEST(NodeTlsTest, DatacentersTalkOverMutualTlsAndAnotherCasDatacenterIsRefused) {
  Pki pki;
  if (std::system("command -v openssl >/dev/null 2>&1") != 0) GTEST_SKIP() << "no openssl";
  ASSERT_TRUE(pki.MakeCa("cluster-ca") && pki.MakeCa("rogue-ca"));
  ASSERT_TRUE(pki.MakeCert("eu", "cluster-ca") && pki.MakeCert("us", "cluster-ca") &&
              pki.MakeCert("rogue", "rogue-ca"));
  auto in_datacenter = [&](const std::string& name, const std::string& dc,
                           std::map<std::string, std::vector<std::string>> remote) {
    NodeOptions o = TlsOptions(pki, name, "cluster-ca", {});
    o.datacenter = dc;
    o.remote_seeds = std::move(remote);
    o.replicator.dc_replication_interval = 0.05;
    return o;
  };
  auto eu = Node::Start(in_datacenter("eu", "eu", {}));
  ASSERT_TRUE(eu.ok()) << eu.status().ToString();
  auto us = Node::Start(in_datacenter("us", "us", {{"eu", {(*eu)->bus_url()}}}));
  ASSERT_TRUE(us.ok()) << us.status().ToString();
  auto rogue = Node::Start(in_datacenter("rogue", "ap", {{"eu", {(*eu)->bus_url()}}}));
  ASSERT_TRUE(rogue.ok()) << rogue.status().ToString();
  Increment(**eu, "k", 3);
  Increment(**rogue, "k", 1000);
  ASSERT_TRUE(WaitFor([&] { return GValue(**us, "k") == 3; }));
  ASSERT_TRUE(WaitFor([&] { return (*eu)->Metrics()["convergent.datacenters.reachable"] == 1; }));
  EXPECT_FALSE(
      WaitFor([&] { return GValue(**eu, "k") != 3 || GValue(**rogue, "k") != 1000; }, 1.5));
  EXPECT_EQ((*eu)->Metrics()["convergent.datacenters.remote"], 1.0);  // us only
  EXPECT_EQ((*rogue)->Metrics()["convergent.datacenters.reachable"], 0.0);
}

}  // namespace
}  // namespace convergent
