// Customer chat widget loader. Embed with
//   <script src="https://chat.example.com/widget.js" data-gateway="https://chat.example.com" async></script>
// `data-gateway` defaults to the origin this file came from. The widget itself is a set of
// ES modules loaded from the gateway; it draws into its own Shadow DOM.
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || window.__csWidgetLoaded) return;
  window.__csWidgetLoaded = true;
  var gateway = (script.getAttribute('data-gateway') || new URL(script.src, location.href).origin).replace(/\/+$/, '');
  import(gateway + '/js/widget/main.js')
    .then(function (module) { module.mountWidget({ gateway: gateway, title: script.getAttribute('data-title') || 'Support' }); })
    .catch(function (error) { console.error('chat widget failed to load', error); });
})();
