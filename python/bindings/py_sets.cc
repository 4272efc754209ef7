// ORSet and GSet.
#include <string>

#include "convergent/crdt/gset.h"
#include "convergent/crdt/orset.h"
#include "module.h"
#include "py_crdt.h"

namespace py = pybind11;

namespace convergent::bindings {
namespace {

// What both sets share: elements(), `in`, len(), iter() and repr.
template <typename T>
void AddSetReads(ClassSpec& spec) {
  using S = PyCrdt<T>;
  spec.methods.push_back(Method<T>(
      "elements",
      [](S& self, const Call& call) {
        call.NoArgs("elements");
        return py::object(FromValues(Read(self).Elements()));
      },
      "elements($self, /)\n--\n\n"
      "The elements, as a list in canonical order (by their msgpack bytes)."));
  spec.slots.push_back(
      ContainsSlot<T>([](S& self, py::handle x) { return Read(self).Contains(ToValue(x)); }));
  spec.slots.push_back(LengthSlot<T>([](S& self) { return Read(self).size(); }));
  spec.slots.push_back(
      IterSlot<T>([](S& self) { return py::object(py::iter(FromValues(Read(self).Elements()))); }));
  spec.slots.push_back(ReprSlot<T>([](S& self) {
    return py::object(py::str(std::string(TypeName<T>()) + "(" +
                              ReprItems(FromValues(Read(self).Elements())) + ")"));
  }));
}

}  // namespace

void RegisterSets(py::module_& m) {
  using O = PyCrdt<ORSet>;
  ClassSpec orset{
      "ORSet(*, replica=None)\n--\n\n"
      "The observed-remove set (add wins): a remove deletes only the adds it has seen, so a "
      "concurrent add survives. `replica` (a name or an int id) writes the mutations that get "
      "no replica=.",
      {Method<ORSet>(
           "add",
           [](O& self, const Call& call) {
             auto [x, replica] = call.Parse<2>("add", {"x", "replica"}, 1, 1);
             ORSet& s = Write(self);
             const ReplicaId r = WriterOf(self, replica, "add");
             return Delta(self, s.Add(r, ToValue(x)));
           },
           "add($self, /, x, *, replica=None)\n--\n\nAdds x as `replica`; returns the delta."),
       Method<ORSet>(
           "remove",
           [](O& self, const Call& call) {
             auto [x, replica] = call.Parse<2>("remove", {"x", "replica"}, 1, 1);
             ORSet& s = Write(self);
             BoundWriter(self, replica);  // a remove creates no dot: no writer
             return Delta(self, s.Remove(ToValue(x)));
           },
           "remove($self, /, x, *, replica=None)\n--\n\n"
           "Removes x (the adds of it seen so far; an absent x is a no-op); returns the delta."),
       Method<ORSet>(
           "clear",
           [](O& self, const Call& call) {
             auto [replica] = call.Parse<1>("clear", {"replica"}, 0, 0);
             ORSet& s = Write(self);
             BoundWriter(self, replica);
             return Delta(self, s.Clear());
           },
           "clear($self, /, *, replica=None)\n--\n\n"
           "Removes every element seen so far; returns the delta.")},
      {},
      {}};
  AddSetReads<ORSet>(orset);
  DefineCrdtClass<ORSet>(m, std::move(orset));

  using G = PyCrdt<GSet>;
  ClassSpec gset{
      "GSet(*, replica=None)\n--\n\n"
      "The grow-only set: elements are added, never removed.",
      {Method<GSet>(
          "add",
          [](G& self, const Call& call) {
            auto [x, replica] = call.Parse<2>("add", {"x", "replica"}, 1, 1);
            GSet& s = Write(self);
            BoundWriter(self, replica);  // a GSet does not record writers
            return Delta(self, s.Add(ToValue(x)));
          },
          "add($self, /, x, *, replica=None)\n--\n\nAdds x; returns the delta.")},
      {},
      {}};
  AddSetReads<GSet>(gset);
  DefineCrdtClass<GSet>(m, std::move(gset));
}

}  // namespace convergent::bindings
